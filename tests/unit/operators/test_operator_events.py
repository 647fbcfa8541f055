"""Fast: the operator's and the sensor's decisions, one at a time: the id a generation carries, and what each
trigger event makes of the Airflow task."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, Asset, TaskDeferred
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS
from support.answer_tables import paused
from support.task_context import task_context

from airflow_provider_kling._constants import GIVEN_EXTERNAL_TASK_ID_MAX_CHARS
from airflow_provider_kling.exceptions import (
    KlingError,
    KlingPermanentError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.sandbox.server import FAIL_MARKER, FAIL_MESSAGE
from airflow_provider_kling.sensors.kling import KlingTaskSensor
from airflow_provider_kling.submission import derived_external_task_id, generation_external_task_id

TASK_INSTANCE = {"dag_id": "calendar", "task_id": "generate", "run_id": "scheduled__2026-11-23", "map_index": 3}


def _derived(**changes) -> str:
    ti = SimpleNamespace(**{**TASK_INSTANCE, **changes})
    return KlingText2VideoOperator._derived_id({"ti": ti})


def test_the_derived_id_is_the_same_on_every_try():
    assert _derived() == _derived() == derived_external_task_id(*TASK_INSTANCE.values())
    assert _derived().startswith("airflow-") and len(_derived()) <= GIVEN_EXTERNAL_TASK_ID_MAX_CHARS


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("dag_id", "calendar_eu"),
        ("task_id", "generate_teaser"),
        ("run_id", "scheduled__2026-11-24"),  # tomorrow's run must not get today's video back
        ("map_index", 4),
        ("map_index", -1),
    ],
)
def test_the_derived_id_changes_with_each_part_of_the_task_instance(field, other):
    assert _derived(**{field: other}) != _derived()


def test_parts_cannot_run_into_each_other():
    assert derived_external_task_id("a_b", "c", "r", 0) != derived_external_task_id("a", "b_c", "r", 0)
    assert derived_external_task_id("a", "b", "r1", 0) != derived_external_task_id("a", "b", "r", 10)


def test_each_generation_after_the_first_gets_its_own_id():
    assert [generation_external_task_id("base", n) for n in (1, 2, 3)] == ["base", "base-2", "base-3"]


@pytest.fixture
def operator(cometapi_sandbox) -> KlingText2VideoOperator:
    return KlingText2VideoOperator(task_id="generate", prompt="a fox")


@pytest.fixture
def sensor(cometapi_sandbox) -> KlingTaskSensor:
    return KlingTaskSensor(task_id="wait", kling_task_id="880001")


def _event(status: str, **extra) -> dict:
    return {"status": status, "kling_task_id": "880001", "task": None, "message": f"it went {status}", **extra}


@pytest.mark.parametrize("waiter", ["operator", "sensor"])
def test_an_error_event_no_retry_can_fix_fails_the_task_without_retries(waiter, request):
    with pytest.raises(KlingPermanentError, match="it went error") as raised:
        request.getfixturevalue(waiter).execute_complete({}, _event("error", retryable=False))
    assert isinstance(raised.value, AirflowFailException)


@pytest.mark.parametrize("waiter", ["operator", "sensor"])
def test_a_retryable_error_event_lets_airflow_retry(waiter, request):
    with pytest.raises(KlingError, match="it went error") as raised:
        request.getfixturevalue(waiter).execute_complete({}, _event("error", retryable=True))
    assert not isinstance(raised.value, AirflowFailException) and raised.value.retryable


@pytest.mark.parametrize("waiter", ["operator", "sensor"])
def test_an_error_event_that_does_not_say_is_not_retried(waiter, request):
    with pytest.raises(KlingPermanentError):
        request.getfixturevalue(waiter).execute_complete({}, _event("error"))


def test_a_timeout_event_fails_the_operator_as_a_timeout(operator):
    with pytest.raises(KlingWaitTimeoutError, match="it went timeout"):
        operator.execute_complete({}, _event("timeout"))


def test_a_timeout_event_fails_the_sensor_as_a_sensor_timeout(sensor):
    with pytest.raises(AirflowSensorTimeout, match="it went timeout"):
        sensor.execute_complete({}, _event("timeout"))


def test_a_poke_on_an_unknown_status_keeps_waiting(cometapi_sandbox, sensor):
    task_id = KlingHook().create_text2video("a fox")["task_id"]
    cometapi_sandbox.inject(Fault(status=200, body=paused(task_id), method="GET"))
    sensor.kling_task_id = task_id
    answer = sensor.poke(task_context())
    assert answer.is_done is False and answer.xcom_value["task_status"] == "paused"


def test_the_hook_waits_through_an_unknown_status(cometapi_sandbox):
    hook = KlingHook()
    task_id = hook.create_text2video("a fox")["task_id"]
    cometapi_sandbox.inject(Fault(status=200, body=paused(task_id), method="GET", count=3))
    assert hook.wait_for_task(task_id, poll_interval=0.05, timeout=15)["task_status"] == "succeed"
    assert cometapi_sandbox.stats()["faults_served"] == {"200/raw": 3}


def _ended(sandbox, prompt: str = "a fox") -> dict:
    hook = KlingHook()
    task_id = hook.create_text2video(prompt)["task_id"]
    time.sleep(sandbox.render_seconds + 0.1)
    return hook.get_task(task_id)


def test_a_poke_on_a_rendering_task_keeps_waiting_and_one_on_a_finished_task_ends(
    cometapi_sandbox, sensor, caplog, capfd
):
    task_id = sensor.kling_task_id = KlingHook().create_text2video("a fox")["task_id"]
    answer = sensor.poke(task_context())
    status = answer.xcom_value["task_status"]
    assert answer.is_done is False and status in ("submitted", "processing")
    assert sensor.kling_video_url is None
    time.sleep(cometapi_sandbox.render_seconds + 0.1)
    context = task_context()
    answer = sensor.poke(context)
    assert answer.is_done is True and answer.xcom_value["task_status"] == "succeed"
    url = answer.xcom_value["task_result"]["videos"][0]["url"]
    assert sensor.kling_video_url == url
    assert context["ti"].pushed == ({} if AIRFLOW_V_3_0_PLUS else {"kling_video_url": url})
    log = caplog.text + capfd.readouterr().out
    assert f"Kling task {task_id} is '{status}'" in log and f"Kling task {task_id} ended succeed; videos: {url}" in log


def test_a_sensor_built_with_only_a_task_id_has_the_documented_defaults(cometapi_sandbox):
    sensor = KlingTaskSensor(task_id="wait", kling_task_id="1")
    assert (sensor.kling_conn_id, sensor.poke_interval, sensor.deferrable) == ("kling_default", 10, False)


def test_a_poke_on_a_failed_task_fails_the_sensor_with_klings_reason(cometapi_sandbox, sensor):
    sensor.kling_task_id = _ended(cometapi_sandbox, f"a fox {FAIL_MARKER}")["task_id"]
    with pytest.raises(KlingPermanentError) as raised:
        sensor.poke(task_context())
    assert str(raised.value) == f"Kling task {sensor.kling_task_id} failed: {FAIL_MESSAGE}"


def test_a_failed_task_without_a_reason_says_so(sensor):
    with pytest.raises(KlingPermanentError, match=r"^Kling task 880001 failed: no reason given$"):
        sensor._done(task_context(), {"task_id": "880001", "task_status": "failed", "task_status_msg": ""})


def test_a_success_event_gives_the_task_and_its_link(cometapi_sandbox, sensor):
    task = _ended(cometapi_sandbox)
    sensor.kling_task_id = task["task_id"]
    assert sensor.execute_complete(task_context(), _event("success", task=task)) == task
    assert sensor.kling_video_url == task["task_result"]["videos"][0]["url"]


def test_a_success_event_for_a_failed_task_fails_the_sensor(sensor):
    task = {"task_id": "880001", "task_status": "failed", "task_status_msg": "policy"}
    with pytest.raises(KlingPermanentError, match="failed: policy"):
        sensor.execute_complete(task_context(), _event("success", task=task))


@pytest.mark.parametrize("kling_task_id", ["", "  ", None])
def test_the_sensor_refuses_a_blank_task_id_before_asking(cometapi_sandbox, kling_task_id):
    sensor = KlingTaskSensor(task_id="wait", kling_task_id=kling_task_id, deferrable=True)
    with pytest.raises(KlingValidationError) as raised:
        sensor.execute({})
    assert raised.value.field == "kling_task_id" and "a Kling task id or external_task_id" in str(raised.value)
    assert cometapi_sandbox.requests == []


def test_a_deferrable_sensor_hands_the_wait_to_the_trigger_with_a_fixed_deadline(cometapi_sandbox):
    sensor = KlingTaskSensor(
        task_id="wait",
        kling_task_id="880001",
        deferrable=True,
        timeout=600,
        poke_interval=7,
        kling_conn_id="other",
        endpoint="image2video",
    )
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.kling.KlingTaskTrigger"
    assert (kwargs["kling_task_id"], kwargs["kling_conn_id"], kwargs["poll_interval"]) == ("880001", "other", 7)
    assert kwargs["endpoint"] == "image2video"  # the trigger reads the task on its endpoint's route
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600
    assert deferred.value.method_name == "execute_complete" and cometapi_sandbox.requests == []


@pytest.mark.parametrize(
    ("arguments", "xcoms"),
    [
        ({}, {"return_value": "task", "_link_KlingVideoLink": "video_url"}),
        ({"do_xcom_push": False}, {"_link_KlingVideoLink": "video_url"}),
        ({"outlets": [Asset("s3://videos/daily")]}, None),  # its Asset event is emitted on a worker
    ],
    ids=["its task", "no XCom value", "an Asset event"],
)
def test_a_deferred_sensor_that_needs_no_worker_after_its_wait_asks_its_trigger_to_end_it(
    cometapi_sandbox, arguments, xcoms
):
    sensor = KlingTaskSensor(task_id="wait", kling_task_id="880001", deferrable=True, **arguments)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(task_context())
    # Airflow 2's triggers cannot set XComs: a worker resumes every task there.
    assert deferred.value.trigger.serialize()[1]["end_with_xcoms"] == (xcoms if AIRFLOW_V_3_0_PLUS else None)


def test_a_sensor_its_trigger_ended_and_yet_resumed_reads_the_task_again(cometapi_sandbox, sensor):
    # A runner that resumes a task whose trigger ended it passes the event "success" and none of its XComs.
    task = _ended(cometapi_sandbox)
    sensor.kling_task_id = task["task_id"]
    # Its trigger reported the cost; the XCom value notes it as the trigger's did.
    assert sensor.execute_complete(task_context(), "success") == {**task, "units_charged": "1"}
    assert sensor.kling_video_url == task["task_result"]["videos"][0]["url"]


def test_a_sensor_resumed_on_its_ended_wait_reads_the_task_on_its_endpoints_route(kling_sandbox):
    # Kling's own API finds a task only on its endpoint's route.
    task_id = KlingHook().create_task("image2video", image="https://images.example/still.png")["task_id"]
    time.sleep(kling_sandbox.render_seconds + 0.1)
    sensor = KlingTaskSensor(task_id="wait", kling_task_id=task_id, endpoint="image2video")
    assert sensor.execute_complete(task_context(), "success")["task_status"] == "succeed"


def test_a_sensor_resumed_on_a_success_its_task_no_longer_shows_fails_and_may_retry(cometapi_sandbox, sensor):
    cometapi_sandbox.render_seconds = 60
    sensor.kling_task_id = KlingHook().create_text2video("a fox")["task_id"]
    with pytest.raises(KlingError) as raised:
        sensor.execute_complete(task_context(), "success")
    assert raised.value.retryable and sensor.kling_video_url is None
    assert str(raised.value) == f"Kling task {sensor.kling_task_id} is 'submitted', yet its trigger saw it succeed"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"poke_interval": 0}, "poke_interval"),
        ({"kling_conn_id": ""}, "kling_conn_id"),
        ({"deferrable": 1}, "deferrable"),
    ],
)
def test_the_sensor_refuses_bad_arguments_when_built(arguments, field):
    with pytest.raises(KlingValidationError) as raised:
        KlingTaskSensor(task_id="wait", kling_task_id="1", **arguments)
    assert raised.value.field == field


def test_a_sensor_reads_an_event_even_where_the_connection_lost_its_key(cometapi_sandbox, sensor, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps({"conn_type": "kling", "host": cometapi_sandbox.url}))
    task = {"task_id": "1", "task_status": "succeed", "task_result": {"videos": [{"url": "https://cdn.example/1.mp4"}]}}
    assert sensor.execute_complete(task_context(), _event("success", task=task)) == task
