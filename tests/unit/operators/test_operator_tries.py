"""
Fast: what one try of the operator does with what earlier tries recorded, against the sandbox over loopback.

``execute`` runs in this process with a task instance's identity and a dict standing in for Airflow's task state
store (the store's own behaviour, and the whole try under a real Airflow, are
tests/integration/test_operator_runs.py's). These tests read what was sent and what was recorded: one submission per
generation, never two.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import Asset, TaskDeferred
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS
from conftest import connection_json
from support.answer_tables import TWO_SHOTS, TWO_SHOTS_SENT
from support.task_context import TASK_INSTANCE, StateStore, task_context

from airflow_provider_kling.exceptions import (
    KlingError,
    KlingSubmissionUnknownError,
    KlingTaskFailedError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.sandbox.server import FAIL_MARKER, FAIL_MESSAGE
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

BASE = KlingText2VideoOperator._derived_id({"ti": SimpleNamespace(**TASK_INSTANCE)})


# The sandboxes of conftest.py, with renders of 0.15 s: these tests wait for many.
@pytest.fixture
def sandbox(sandbox):
    sandbox.render_seconds = 0.15
    return sandbox


@pytest.fixture
def cometapi_sandbox(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 0.15
    return cometapi_sandbox


@pytest.fixture
def kling_sandbox(kling_sandbox):
    kling_sandbox.render_seconds = 0.15
    return kling_sandbox


def _operator(**kwargs: Any) -> KlingText2VideoOperator:
    return KlingText2VideoOperator(
        task_id="generate", prompt=kwargs.pop("prompt", "a fox"), poll_interval=0.05, **kwargs
    )


def _record(context: dict[str, Any]) -> dict[str, Any]:
    return context["task_state_store"][SUBMISSION_STATE_KEY]


def _logged(caplog, capfd) -> str:
    """The try's log: Airflow 3 writes it to stdout, Airflow 2 through logging (and to stderr)."""
    return caplog.text + capfd.readouterr().out


def _sent_ids(sandbox) -> list[str]:
    return [body.get("external_task_id") for body in sandbox.submissions]


def test_a_first_try_submits_once_records_the_task_and_returns_its_video(sandbox, caplog, capfd):
    context = task_context()
    operator = _operator(timeout=3)  # polls every 0.05 s, not the default 10
    task = operator.execute(context)
    assert task["task_status"] == "succeed" and _sent_ids(sandbox) == [BASE]
    log = _logged(caplog, capfd)
    assert f'Submitting a Kling text2video task: {{"prompt": "a fox", "external_task_id": "{BASE}"}}' in log
    assert f"Kling task {task['task_id']} submitted (submitted)" in log
    assert f"Kling task {task['task_id']} produced: {task['task_result']['videos'][0]['url']}" in log
    assert _record(context) == {"generation": 1, "external_task_id": BASE, "task_id": task["task_id"]}
    assert operator.kling_video_url == task["task_result"]["videos"][0]["url"]
    # Airflow 2's webserver reads the link from an XCom; Airflow 3 asks the operator.
    pushed = {} if AIRFLOW_V_3_0_PLUS else {"kling_video_url": operator.kling_video_url}
    assert context["ti"].pushed == pushed


def test_a_first_try_ignores_what_a_cleared_run_left(sandbox):
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 4, "external_task_id": f"{BASE}-4", "task_id": "1"}})
    _operator().execute(task_context(try_number=1, store=store))
    assert _sent_ids(sandbox) == [BASE]


def test_a_retry_waits_for_the_earlier_generation_instead_of_paying_again(sandbox, caplog, capfd):
    sandbox.render_seconds = 0.5
    first = KlingHook().create_text2video("a fox", external_task_id=BASE)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE, "task_id": first["task_id"]}})
    task = _operator().execute(task_context(try_number=2, store=store))
    assert task["task_id"] == first["task_id"] and task["task_status"] == "succeed"
    assert len(sandbox.submissions) == 1
    assert re.search(
        rf"Found Kling task {first['task_id']} \((submitted|processing), external_task_id {BASE}\) from an earlier "
        "try: not submitting again",
        _logged(caplog, capfd),
    )


def test_a_retry_after_a_failed_generation_submits_the_next_one(sandbox, caplog, capfd):
    failed = KlingHook().create_text2video(f"a fox {FAIL_MARKER}", external_task_id=BASE)
    time.sleep(sandbox.render_seconds + 0.1)
    store = StateStore(
        {SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE, "task_id": failed["task_id"]}}
    )
    context = task_context(try_number=2, store=store)
    task = _operator().execute(context)
    assert _sent_ids(sandbox) == [BASE, f"{BASE}-2"]
    assert _record(context) == {"generation": 2, "external_task_id": f"{BASE}-2", "task_id": task["task_id"]}
    assert (
        f"Kling task {failed['task_id']} (external_task_id {BASE}) failed earlier ({FAIL_MESSAGE}): "
        "submitting a new generation" in _logged(caplog, capfd)
    )


def test_a_failed_generation_without_a_reason_says_so_when_the_next_is_submitted(cometapi_sandbox, caplog, capfd):
    failed = {"task_id": "770077", "task_status": "failed", "task_status_msg": ""}
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps({"code": 0, "data": failed}), method="GET"))
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE, "task_id": "770077"}})
    _operator(wait_for_completion=False).execute(task_context(try_number=2, store=store))
    assert _sent_ids(cometapi_sandbox) == [f"{BASE}-2"]
    assert f"Kling task 770077 (external_task_id {BASE}) failed earlier (no reason given)" in _logged(caplog, capfd)


def test_a_retry_whose_task_kling_no_longer_knows_submits_the_next_generation(sandbox, caplog, capfd):
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 2, "external_task_id": f"{BASE}-2", "task_id": "404404"}})
    context = task_context(try_number=3, store=store)
    _operator().execute(context)
    assert _sent_ids(sandbox) == [f"{BASE}-3"] and _record(context)["generation"] == 3
    log = _logged(caplog, capfd)
    assert "Kling no longer knows task 404404 from an earlier try: submitting a new generation" in log


def test_the_generation_is_recorded_before_it_is_sent(cometapi_sandbox):
    # The answer is lost: the next try must find what this one was about to pay for.
    cometapi_sandbox.inject(Fault(drop=True, method="POST"))
    context = task_context()
    with pytest.raises(KlingSubmissionUnknownError):
        _operator(on_unknown_submission="fail").execute(context)
    assert _record(context) == {"generation": 1, "external_task_id": BASE}


def test_klings_own_api_finds_a_submission_whose_answer_was_lost(kling_sandbox):
    lost = KlingHook().create_text2video("a fox", external_task_id=BASE)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE}})
    task = _operator().execute(task_context(try_number=2, store=store))
    assert task["task_id"] == lost["task_id"] and len(kling_sandbox.submissions) == 1


def test_klings_own_api_finds_a_lost_image_submission_on_its_own_route(kling_sandbox):
    from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator

    still = "https://images.example/still.png"
    lost = KlingHook().create_task("image2video", image=still, external_task_id=BASE)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE}})
    operator = KlingImage2VideoOperator(task_id="generate", image=still, poll_interval=0.05)
    task = operator.execute(task_context(try_number=2, store=store))
    assert task["task_id"] == lost["task_id"] and len(kling_sandbox.submissions) == 1  # not paid for twice


def test_klings_own_api_submits_when_the_lost_submission_created_nothing(kling_sandbox):
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE}})
    _operator().execute(task_context(try_number=2, store=store))
    assert _sent_ids(kling_sandbox) == [BASE]


def test_on_cometapi_a_lost_submission_fails_without_paying_when_asked_to(cometapi_sandbox):
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 2, "external_task_id": f"{BASE}-2"}})
    with pytest.raises(KlingSubmissionUnknownError) as raised:
        _operator(on_unknown_submission="fail").execute(task_context(try_number=2, store=store))
    assert raised.value.external_task_id == f"{BASE}-2"
    assert str(raised.value) == (
        f"An earlier try submitted external_task_id '{BASE}-2' but never learnt its task_id, and the cometapi backend "
        "cannot look tasks up by external_task_id. Not submitting again (on_unknown_submission='fail'): look for "
        "the task in the service's console and wait on its task_id with KlingTaskSensor, or set "
        "on_unknown_submission='resubmit'"
    )
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize("stored", ["a note", ["generation", 2], 7])
def test_a_record_that_is_not_ours_fails_the_retry_without_paying(sandbox, stored):
    with pytest.raises(KlingSubmissionUnknownError) as raised:
        _operator().execute(task_context(try_number=2, store=StateStore({SUBMISSION_STATE_KEY: stored})))
    assert str(raised.value).startswith(
        f"The task's {SUBMISSION_STATE_KEY!r} record holds {type(stored).__name__}, not the operator's record"
    )
    assert sandbox.requests == []


def test_on_cometapi_a_lost_submission_is_sent_again_with_the_same_id_by_default(cometapi_sandbox, caplog, capfd):
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 2, "external_task_id": f"{BASE}-2"}})
    _operator().execute(task_context(try_number=2, store=store))
    assert _sent_ids(cometapi_sandbox) == [f"{BASE}-2"]
    assert (
        f"An earlier try submitted external_task_id '{BASE}-2' but never learnt its task_id, and the cometapi backend "
        "cannot look tasks up by external_task_id: submitting again (on_unknown_submission='resubmit'); a second "
        "generation may be paid for" in _logged(caplog, capfd)
    )


def test_a_given_external_task_id_is_the_base_of_every_generation(sandbox):
    context = task_context()
    _operator(external_task_id="my-id", prompt=f"x {FAIL_MARKER}", wait_for_completion=False).execute(context)
    time.sleep(sandbox.render_seconds + 0.1)
    _operator(external_task_id="my-id").execute(task_context(try_number=2, store=context["task_state_store"]))
    assert _sent_ids(sandbox) == ["my-id", "my-id-2"]


def test_an_external_task_id_without_room_for_a_generation_number_is_refused_before_sending(cometapi_sandbox):
    with pytest.raises(KlingValidationError) as raised:
        _operator(external_task_id="x" * 121).execute(task_context())
    assert raised.value.field == "external_task_id" and "is 121 characters long; allowed: at most 120" in str(
        raised.value
    )
    _operator(external_task_id="x" * 120, wait_for_completion=False).execute(task_context())
    assert _sent_ids(cometapi_sandbox) == ["x" * 120]


def test_without_waiting_the_submitted_task_is_returned(cometapi_sandbox):
    operator = _operator(wait_for_completion=False)
    task = operator.execute(task_context())
    assert task["task_status"] == "submitted" and operator.kling_video_url is None


def test_a_deferrable_operator_defers_with_the_task_and_a_fixed_deadline(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_OTHER", connection_json(cometapi_sandbox))
    operator = _operator(deferrable=True, timeout=600, kling_conn_id="kling_other")
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.kling.KlingTaskTrigger"
    assert [kwargs["kling_task_id"]] == list(cometapi_sandbox.tasks)
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600
    assert (kwargs["kling_conn_id"], kwargs["poll_interval"]) == ("kling_other", 0.05)
    assert deferred.value.method_name == "execute_complete"
    # Submitted now: the trigger learns how long renders of this kind take, and may skip the polls before.
    assert kwargs["render_kind"] == "kling_other text2video None None None"


LINK_KEY = "_link_KlingVideoLink"


@pytest.mark.parametrize(
    ("do_xcom_push", "xcoms"),
    [(True, {"return_value": "task", LINK_KEY: "video_url"}), (False, {LINK_KEY: "video_url"})],
)
def test_a_deferred_task_that_needs_no_worker_after_its_wait_asks_its_trigger_to_end_it(
    cometapi_sandbox, do_xcom_push, xcoms
):
    with pytest.raises(TaskDeferred) as deferred:
        _operator(deferrable=True, do_xcom_push=do_xcom_push).execute(task_context())
    # Airflow 2's triggers cannot set XComs: a worker resumes every task there, whatever its context holds.
    assert deferred.value.trigger.serialize()[1]["end_with_xcoms"] == (xcoms if AIRFLOW_V_3_0_PLUS else None)


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 2 resumes every deferred task on a worker")
@pytest.mark.parametrize(
    "need", ["stored videos", "an Asset event", "a Variable record", "a listener", "an XCom backend", "split XComs"]
)
def test_a_task_that_needs_a_worker_after_its_wait_is_resumed_on_one(cometapi_sandbox, tmp_path, monkeypatch, need):
    from airflow.providers.common.compat.sdk import get_listener_manager

    kwargs: dict[str, Any] = {
        "stored videos": {"output_path": str(tmp_path)},
        "an Asset event": {"outlets": [Asset("s3://videos/daily")]},
        "split XComs": {"multiple_outputs": True},
    }.get(need, {})
    context = task_context()
    assert _operator(deferrable=True)._end_from_trigger_xcoms(context) is not None  # but for the need
    if need == "a Variable record":  # Airflow before 3.3: no task state store
        del context["task_state_store"]
    if need == "a listener":
        get_listener_manager().add_listener(object())  # hears nothing, but Airflow counts it
    if need == "an XCom backend":
        monkeypatch.setenv("AIRFLOW__CORE__XCOM_BACKEND", "airflow_provider_kling.tests.ObjectStoreXCom")
    try:
        assert _operator(deferrable=True, **kwargs)._end_from_trigger_xcoms(context) is None
    finally:
        get_listener_manager().clear()


def test_a_task_its_trigger_ended_and_yet_resumed_reads_its_result_again(cometapi_sandbox):
    # A runner that resumes a task whose trigger ended it passes the event "success" and none of its XComs.
    done = KlingHook().create_text2video("a fox")
    time.sleep(cometapi_sandbox.render_seconds + 0.1)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "task_id": done["task_id"]}})
    operator = _operator()
    task = operator.execute_complete(task_context(store=store), "success")
    assert task == {**KlingHook().get_task(done["task_id"]), "units_charged": "1"} and task["task_status"] == "succeed"
    assert operator.kling_video_url == task["task_result"]["videos"][0]["url"]


def test_a_task_its_trigger_ended_and_yet_resumed_reads_its_result_on_its_endpoints_route(kling_sandbox):
    # Kling's own API finds a task only on its endpoint's route.
    from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator

    done = KlingHook().create_task("image2video", image="https://images.example/still.png")
    time.sleep(kling_sandbox.render_seconds + 0.1)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "task_id": done["task_id"]}})
    operator = KlingImage2VideoOperator(task_id="animate", image="https://images.example/still.png")
    assert operator.execute_complete(task_context(store=store), "success")["task_status"] == "succeed"


def test_a_task_resumed_on_a_success_its_kling_task_no_longer_shows_fails_and_may_retry(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 60
    rendering = KlingHook().create_text2video("a fox")
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "task_id": rendering["task_id"]}})
    operator = _operator()
    with pytest.raises(KlingError) as raised:
        operator.execute_complete(task_context(store=store), "success")
    assert raised.value.retryable and operator.kling_video_url is None
    assert str(raised.value) == f"Kling task {rendering['task_id']} is 'submitted', yet its trigger saw it succeed"
    assert store[SUBMISSION_STATE_KEY]["task_id"] == rendering["task_id"]  # a retry takes it up


def test_a_deferred_retry_of_an_earlier_generation_polls_from_the_start(cometapi_sandbox):
    # The earlier generation has rendered for an unknown time already: no poll may be skipped for it.
    cometapi_sandbox.render_seconds = 60
    first = KlingHook().create_text2video("a fox", external_task_id=BASE)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE, "task_id": first["task_id"]}})
    operator = _operator(deferrable=True, model_name="kling-v2-6", mode="pro", duration=10)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context(try_number=2, store=store))
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["kling_task_id"] == first["task_id"] and kwargs["render_kind"] is None
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    assert deferred.value.trigger.serialize()[1]["render_kind"] == "kling_default text2video kling-v2-6 pro 10"


def test_a_task_that_already_ended_is_not_deferred(cometapi_sandbox):
    first = KlingHook().create_text2video("a fox", external_task_id=BASE)
    time.sleep(cometapi_sandbox.render_seconds + 0.1)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1, "external_task_id": BASE, "task_id": first["task_id"]}})
    assert _operator(deferrable=True).execute(task_context(try_number=2, store=store))["task_status"] == "succeed"


def test_a_failed_generation_fails_the_try_with_its_reason(cometapi_sandbox):
    with pytest.raises(KlingTaskFailedError, match=rf"^Kling task \d+ failed: {FAIL_MESSAGE}$"):
        _operator(prompt=f"a fox {FAIL_MARKER}").execute(task_context())


def test_a_blocking_wait_stops_at_the_timeout(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 30
    with pytest.raises(KlingWaitTimeoutError):
        _operator(timeout=0.3).execute(task_context())


@pytest.mark.parametrize("written", ["{folder}", "file://{folder}", "file://localhost{folder}"])
def test_videos_are_stored_and_named_in_the_result_and_the_asset_event(cometapi_sandbox, tmp_path, written):
    video = Asset("file:///videos/fox")
    context = task_context()
    folder = tmp_path / "not" / "yet" / "there"
    task = _operator(output_path=written.format(folder=folder), outlets=[video]).execute(context)
    item = task["task_result"]["videos"][0]
    assert item["stored_path"].endswith(f"{folder}/{task['task_id']}_0.mp4")
    assert item["stored_bytes"] == (folder / f"{task['task_id']}_0.mp4").stat().st_size > 0
    assert sorted(path.name for path in folder.iterdir()) == [f"{task['task_id']}_0.mp4"]  # no probe left
    assert context["outlet_events"][video].extra == {
        "kling_task_id": task["task_id"],
        "video_urls": [item["url"]],
        "stored_paths": [item["stored_path"]],
    }


def test_an_asset_event_without_stored_videos_names_the_urls(cometapi_sandbox):
    video = Asset("file:///videos/fox")
    context = task_context()
    task = _operator(outlets=[video]).execute(context)
    assert context["outlet_events"][video].extra == {
        "kling_task_id": task["task_id"],
        "video_urls": [task["task_result"]["videos"][0]["url"]],
        "stored_paths": [],
    }


def test_an_event_is_logged_and_read_even_where_the_connection_is_now_broken(
    cometapi_sandbox, monkeypatch, caplog, capfd
):
    # The key is registered with the masker first; a connection that lost its key must not hide the outcome.
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps({"conn_type": "kling", "host": cometapi_sandbox.url}))
    task = {"task_id": "1", "task_status": "succeed", "task_result": {"videos": [{"url": "https://cdn.example/1.mp4"}]}}
    event = {"status": "succeed", "kling_task_id": "1", "task": task, "message": "Kling task 1 ended succeed"}
    assert _operator().execute_complete(task_context(), event) == task
    assert "Kling task 1 ended succeed" in _logged(caplog, capfd)


def test_a_folder_where_nothing_can_be_written_is_refused_naming_the_cause(cometapi_sandbox, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(KlingValidationError) as raised:
        _operator(output_path=str(blocker / "videos")).execute(task_context())
    assert re.search(rf"got '{blocker}/videos', where nothing can be written \((\w+Error): ", str(raised.value))
    assert cometapi_sandbox.requests == []


def test_an_operator_built_with_only_a_prompt_has_the_documented_defaults(cometapi_sandbox):
    operator = KlingText2VideoOperator(task_id="generate", prompt="a fox", cfg_scale=0.5, timeout=timedelta(minutes=5))
    assert (operator.kling_conn_id, operator.poll_interval, operator.cfg_scale) == ("kling_default", 10, 0.5)
    assert operator.timeout == 300 and KlingText2VideoOperator(task_id="g", prompt="a").timeout == 3600


def test_a_deferred_task_completes_from_the_triggers_event(cometapi_sandbox):
    operator = _operator()
    done = KlingHook().create_text2video("a fox")
    time.sleep(cometapi_sandbox.render_seconds + 0.1)
    task = KlingHook().get_task(done["task_id"])
    event = {"status": "success", "kling_task_id": task["task_id"], "task": task, "message": "done"}
    assert operator.execute_complete(task_context(), event) == task
    assert operator.kling_video_url == task["task_result"]["videos"][0]["url"]


@pytest.mark.parametrize(
    ("status", "ended"),
    [("submitted", False), ("processing", False), ("succeed", True), ("failed", True), ("paused", False)],
)
def test_only_a_known_final_status_has_ended(status, ended):
    assert KlingText2VideoOperator._has_ended({"task_status": status}) is ended


def test_the_operator_sends_shots_and_extra_fields_with_its_derived_id(sandbox, capfd):
    operator = _operator(
        prompt=None,
        model_name="kling-v3",
        multi_shot=True,
        shot_type="customize",
        multi_prompt=TWO_SHOTS,
        watermark_info={"enabled": False},
        extra_fields={"resolution": "4k"},
    )
    operator.execute(task_context())
    [sent] = sandbox.submissions
    assert sent == {
        "model_name": "kling-v3",
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": TWO_SHOTS_SENT,
        "duration": "5",
        "watermark_info": {"enabled": False},
        "external_task_id": BASE,
        "resolution": "4k",
    }
    assert '"resolution": "4k"' in capfd.readouterr().out  # the submission is logged with its extra fields


def test_a_deferred_image_task_hands_its_endpoint_to_the_trigger(cometapi_sandbox):
    from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator

    operator = KlingImage2VideoOperator(task_id="animate", image="https://images.example/still.png", deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(task_context())
    assert deferred.value.trigger.serialize()[1]["endpoint"] == "image2video"


def test_an_unknown_submission_policy_is_refused_by_the_hook_naming_it(cometapi_sandbox):
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().create_text2video("a fox", on_unknown_submission="retry")
    assert str(raised.value) == "Invalid on_unknown_submission: got 'retry'; allowed: resubmit, fail"
    assert cometapi_sandbox.requests == []


def test_the_hook_checks_extra_fields_when_it_validates(cometapi_sandbox):
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().validate_text2video("a fox", extra_fields={"prompt": "a cat"})
    assert raised.value.field == "extra_fields" and cometapi_sandbox.requests == []
