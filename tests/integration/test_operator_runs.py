"""The operator, sensor, trigger and link run by a real Airflow (metadata DB, dag.test()) against the sandbox."""

from __future__ import annotations

import base64
import re
from unittest.mock import ANY

import pendulum
import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS
from conftest import AIRFLOW_HOME, REPO, SECRET_KEY, connection_json
from support.airflow_lines import deferred_to, extra_link, run, xcom

from airflow_provider_kling.sandbox import Fault

#: How every token the hook makes for Kling's own API starts: {"alg":"HS256","typ":"JWT"}, in Base64.
JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
TRIGGER = "airflow_provider_kling.triggers.kling.KlingTaskTrigger"


def test_blocking_and_deferrable_runs_return_the_same_xcom(dagbag, sandbox, capfd, caplog):
    sandbox.render_seconds = 6  # a poll sees "processing" (1.5 s to 6 s), even on a machine busy enough to miss 3 s
    results = {}
    for mode in ("blocking", "deferrable"):
        sent_before = len(sandbox.requests)
        dag_run, tis = run(dagbag, f"kling_generate_{mode}")
        trigger = deferred_to(dag_run, "generate", caplog.text)
        if mode == "deferrable":
            assert trigger in (TRIGGER, "deferred (Airflow 2 names no trigger)")
        else:
            assert trigger is None
        # A first try sends the submission before anything else: no lookup the service may not serve.
        assert sandbox.requests[sent_before] == ("POST", sandbox.route)
        assert {method for method, _ in sandbox.requests[sent_before + 1 :]} == {"GET"}
        assert dag_run.state == "success"
        assert tis["generate", -1].state == "success"
        results[mode] = xcom(dag_run, "generate")
        video_url = results[mode]["task_result"]["videos"][0]["url"]
        assert extra_link(dagbag.dags[dag_run.dag_id], dag_run, "generate") == video_url
    shapes = {
        mode: (task["task_status"], sorted(task), sorted(task["task_result"]["videos"][0]))
        for mode, task in results.items()
    }
    assert shapes["blocking"] == shapes["deferrable"]
    assert results["blocking"]["task_status"] == "succeed"
    assert sandbox.submissions[0]["prompt"] == "A paper boat on a pond at dawn"
    assert sandbox.submissions[0]["duration"] == "5" and sandbox.submissions[0]["aspect_ratio"] == "9:16"
    assert sandbox.submissions[0]["external_task_id"].startswith("airflow-")
    log = capfd.readouterr()
    text = log.out + log.err
    assert "Submitting a Kling text2video task" in text and "external_task_id" in text
    assert "is processing after" in text and "produced: http://127.0.0.1" in text
    assert SECRET_KEY not in text


@pytest.mark.parametrize("dag_id", ["kling_fails", "kling_fails_blocking"])
def test_a_failed_kling_task_fails_the_task_with_its_message(dagbag, sandbox, capfd, dag_id):
    dag_run, tis = run(dagbag, dag_id)
    assert dag_run.state == "failed"
    assert tis["generate", -1].state == "failed"
    text = "".join(capfd.readouterr())
    assert "KlingTaskFailedError" in text and "Sandbox: the prompt asked this task to fail" in text


def test_timeout_fails_both_paths_saying_how_long_and_the_last_status(dagbag, sandbox, capfd):
    sandbox.render_seconds = 30
    _dag_run, tis = run(dagbag, "kling_times_out")
    assert tis["deferred", -1].state == "failed" and tis["blocking", -1].state == "failed"
    text = "".join(capfd.readouterr())
    for prompt in ("a slow cat", "a slow dog"):  # the deferred task's, the blocking task's
        [kling_task_id] = [task_id for task_id, task in sandbox.tasks.items() if task.body["prompt"] == prompt]
        assert re.search(
            rf"Kling task {kling_task_id} did not end within the timeout: waited \d+ s, "
            r"last status '(processing|submitted)'",
            text,
        ), prompt


def test_sensor_waits_for_a_task_submitted_without_waiting(dagbag, sandbox):
    dag_run, _tis = run(dagbag, "kling_submit_then_sense")
    assert dag_run.state == "success"
    submitted = xcom(dag_run, "submit")
    assert submitted["task_status"] == "submitted"
    for sensor in ("sense_deferred", "sense_poking"):
        final = xcom(dag_run, sensor)
        assert final["task_id"] == submitted["task_id"] and final["task_status"] == "succeed"
        assert extra_link(dagbag.dags[dag_run.dag_id], dag_run, sensor) == final["task_result"]["videos"][0]["url"]
    assert len(sandbox.tasks) == 1


def test_sensor_fails_without_retrying_on_a_failed_task(dagbag, sandbox, capfd):
    _dag_run, tis = run(dagbag, "kling_sensor_sees_failure")
    assert tis["sense", -1].state == "failed"
    assert tis["sense", -1].try_number == 1  # retries=3, yet a failed Kling task cannot change
    assert "Sandbox: the prompt asked this task to fail" in "".join(capfd.readouterr())


def test_sensor_timeout_fails_or_skips_with_soft_fail(dagbag, sandbox):
    sandbox.render_seconds = 30
    _, tis = run(dagbag, "kling_sensor_times_out")
    assert tis["sense_hard", -1].state == "failed"
    assert tis["sense_soft", -1].state == "skipped"


def test_mapped_tasks_each_get_their_own_video(dagbag, sandbox):
    dag_run, _tis = run(dagbag, "kling_mapped")
    assert dag_run.state == "success"
    results = [xcom(dag_run, "generate", map_index=index) for index in range(3)]
    assert len({task["task_id"] for task in results}) == 3
    assert sorted(body["prompt"] for body in sandbox.submissions) == ["a blue whale", "a green hill", "a red kite"]
    assert len({body["external_task_id"] for body in sandbox.submissions}) == 3


def test_a_lost_submit_answer_in_a_try_leaves_the_tasks_the_backend_allows(dagbag, sandbox):
    # Within one try the hook resolves a lost answer: Kling's own API is asked; CometAPI gets it again (resubmit).
    sandbox.inject(Fault(drop=True, method="POST"))
    dag_run, _ = run(dagbag, "kling_generate_blocking")
    assert dag_run.state == "success"
    assert sandbox.stats()["faults_served"] == {"drop": 1}
    assert len(sandbox.tasks) == (1 if sandbox.profile == "kling" else 2)


# A try whose submission's answer is lost, and whose hook may not retry (retry_limit 0), so that the
# next Airflow try finds a record without a task_id: (profile, policy) -> (state, tries, tasks created).
LOST_ANSWER_OUTCOMES = {
    ("kling", "resubmit"): ("success", 2, 1),
    ("kling", "fail"): ("success", 2, 1),
    ("cometapi", "resubmit"): ("success", 2, 2),
    ("cometapi", "fail"): ("failed", 1, 1),
}


@pytest.mark.parametrize("policy", ["resubmit", "fail"])
def test_a_try_after_a_lost_submit_answer_follows_the_backend_and_the_policy(
    dagbag, sandbox, monkeypatch, capfd, policy
):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, retry_limit=0))
    sandbox.inject(Fault(drop=True, method="POST"))
    if sandbox.profile == "kling":
        sandbox.inject(Fault(status=500, code=5000, method="GET"))  # the hook's own lookup fails too
    _dag_run, tis = run(dagbag, f"kling_lost_answer_{policy}")
    state, tries, tasks = LOST_ANSWER_OUTCOMES[sandbox.profile, policy]
    assert (tis["generate", -1].state, tis["generate", -1].try_number, len(sandbox.tasks)) == (state, tries, tasks)
    external_ids = {task.body["external_task_id"] for task in sandbox.tasks.values()}
    assert len(external_ids) == 1, "a resubmission carries the same external_task_id"
    text = "".join(capfd.readouterr())
    if state == "failed":
        assert "KlingSubmissionUnknownError" in text and external_ids.pop() in text
    elif sandbox.profile == "kling":
        assert "from an earlier try: not submitting again" in text
    else:
        assert "submitting again (on_unknown_submission='resubmit')" in text


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_a_recreated_dag_run_pays_again_only_where_the_backend_cannot_tell(dagbag, sandbox, mode, capfd):
    # dag.test() deletes a run with the same run_id and makes it anew: its task state goes with it. Kling's own
    # API refuses the external_task_id it has seen, and the hook returns the task that holds it; CometAPI
    # passes the id on unchecked, so the new run is a new generation there (README: what we know).
    logical_date = pendulum.datetime(2026, 3, 1, tz="UTC")
    first, _ = run(dagbag, f"kling_generate_{mode}", logical_date)
    second, _ = run(dagbag, f"kling_generate_{mode}", logical_date)
    assert first.run_id == second.run_id and second.state == "success"
    if sandbox.profile == "kling":
        assert len(sandbox.tasks) == 1
        assert xcom(second, "generate")["task_id"] == next(iter(sandbox.tasks))
        assert "not submitting it again" in "".join(capfd.readouterr())
    else:
        assert len(sandbox.tasks) == 2


def test_the_submission_record_is_kept_where_this_airflow_can_and_never_piles_up(dagbag, sandbox):
    # Airflow 3.3's task state store holds it (it goes with the DAG run); before 3.3 an Airflow Variable
    # does, dropped once the task has its video and kept after a failure, for the next try.
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select, text

    from airflow_provider_kling.submission import SUBMISSION_STATE_KEY, derived_external_task_id

    failed, _ = run(dagbag, "kling_fails_blocking")
    succeeded, _ = run(dagbag, "kling_generate_blocking")
    names = {
        outcome: f"{SUBMISSION_STATE_KEY}.{derived_external_task_id(dag_run.dag_id, 'generate', dag_run.run_id, -1)}"
        for outcome, dag_run in (("failed", failed), ("succeeded", succeeded))
    }
    with create_session() as session:
        kept = set(session.scalars(select(Variable.key).where(Variable.key.in_(names.values()))))
        if AIRFLOW_V_3_3_PLUS:
            stored = session.scalars(
                text("SELECT run_id FROM task_state_store WHERE key = :key"), {"key": SUBMISSION_STATE_KEY}
            )
            assert {failed.run_id, succeeded.run_id} <= set(stored)
    assert kept == (set() if AIRFLOW_V_3_3_PLUS else {names["failed"]})


def test_a_retry_after_a_failed_generation_submits_a_new_one(dagbag, sandbox):
    # The task state store tells the retry which task try 1 submitted: its task_id, read on every backend.
    dag_run, tis = run(dagbag, "kling_retries_after_a_failed_generation")
    assert dag_run.state == "success" and tis["generate", -1].try_number == 2
    first, second = sandbox.submissions
    assert second["external_task_id"] == f"{first['external_task_id']}-2"
    assert [task.status() for task in sandbox.tasks.values()] == ["failed", "succeed"]
    assert ("GET", f"{sandbox.route}/{next(iter(sandbox.tasks))}") in sandbox.requests


def test_bad_input_templated_at_run_time_fails_at_once_naming_the_argument(dagbag, sandbox, capfd):
    dag_run, tis = run(dagbag, "kling_bad_input")
    assert dag_run.state == "failed"
    for task_id in ("templated_duration", "empty_prompt", "templated_mode", "relative_output_path", "empty_task_id"):
        assert tis[task_id, -1].state == "failed", task_id
        assert tis[task_id, -1].try_number == 1, f"{task_id} used a retry"
    text = "".join(capfd.readouterr())
    assert "Invalid duration: got '7'; allowed: 5, 10" in text
    assert f"Invalid prompt: must not be empty; allowed: 1 to {sandbox.backend.prompt_max_chars} characters" in text
    assert "Invalid mode: got 'turbo'; allowed: std, pro" in text
    assert "Invalid output_path: got 'videos/today', a relative path; allowed: an absolute path" in text
    assert "Invalid kling_task_id: got ''" in text
    assert sandbox.requests == []


def test_a_wrong_key_fails_at_once_saying_so(dagbag, sandbox, monkeypatch, capfd):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, key="sk-kling-WRONG-key-0123456789"))
    dag_run, tis = run(dagbag, "kling_lost_answer_resubmit")  # retries=1: a wrong key must not use it
    assert dag_run.state == "failed"
    assert (tis["generate", -1].state, tis["generate", -1].try_number) == ("failed", 1)
    assert "The API key was refused" in "".join(capfd.readouterr())
    assert sandbox.tasks == {} and sandbox.stats()["requests"] == {"POST": 1}


def test_the_key_is_nowhere_airflow_stored_it(dagbag, sandbox, capfd):
    from airflow.utils.session import create_session
    from sqlalchemy import text

    for dag_id in ("kling_generate_deferrable", "kling_fails", "kling_submit_then_sense", "kling_bad_input"):
        run(dagbag, dag_id)
    sandbox.inject(Fault(status=401, code=None, message=f"invalid token {SECRET_KEY}", count=3))
    run(dagbag, "kling_generate_blocking")
    with create_session() as session:
        stored = {
            table: session.execute(text(f"SELECT * FROM {table}")).fetchall()
            for table in ("xcom", "rendered_task_instance_fields", "task_instance", "log", "variable")
            + (("task_state_store",) if AIRFLOW_V_3_3_PLUS else ())
        }
    assert stored["xcom"] and stored["rendered_task_instance_fields"]
    for table, rows in stored.items():
        assert SECRET_KEY not in repr(rows) and JWT_HEADER not in repr(rows), table
    output = "".join(capfd.readouterr())
    assert "invalid token ***" in output
    assert SECRET_KEY not in output and JWT_HEADER not in output


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_the_image_family_animates_a_stored_image_extends_the_clip_and_combines_images(dagbag, sandbox, caplog, mode):
    dag_run, tis = run(dagbag, f"kling_image_family_{mode}")
    assert dag_run.state == "success", {key: ti.state for key, ti in tis.items()}
    deferred = TRIGGER if AIRFLOW_V_3_0_PLUS else "deferred (Airflow 2 names no trigger)"
    sent = {}
    for task_id, endpoint in (("animate", "image2video"), ("extend", "video-extend"), ("combine", "multi-image2video")):
        task = xcom(dag_run, task_id)
        assert task["task_status"] == "succeed" and sandbox.tasks[task["task_id"]].endpoint == endpoint
        route = sandbox.backend.path(f"/v1/videos/{endpoint}")
        assert ("POST", route) in sandbox.requests and ("GET", f"{route}/{task['task_id']}") in sandbox.requests
        assert deferred_to(dag_run, task_id, caplog.text) == (deferred if mode == "deferrable" else None)
        sent[task_id] = sandbox.tasks[task["task_id"]].body
    still = base64.b64encode((REPO / "example_dags" / "still.png").read_bytes()).decode()
    assert sent["animate"]["image"] == sent["animate"]["image_tail"] == still
    assert sent["animate"]["external_task_id"].startswith("airflow-")
    animated = xcom(dag_run, "animate")["task_id"]
    assert sent["extend"] == {"video_id": f"{animated}-0", "task_id": animated, "prompt": "and then day"}
    assert sent["combine"]["image_list"] == [{"image": still}, {"image": "https://images.example/b.jpg"}]
    assert len(sandbox.submissions) == 3


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_the_media_family_lip_syncs_edits_and_sounds_a_generated_clip_and_makes_omni_and_effect_videos_each_stored(
    dagbag, sandbox, caplog, mode
):
    dag_run, tis = run(dagbag, f"kling_media_family_{mode}")
    assert dag_run.state == "success", {key: ti.state for key, ti in tis.items()}
    deferred = TRIGGER if AIRFLOW_V_3_0_PLUS else "deferred (Airflow 2 names no trigger)"
    sent = {}
    made = {
        "speak": "lip-sync",
        "omni": "omni-video",
        "effect": "effects",
        "hug": "effects",
        "sound": "video-to-audio",
        "swap": "multi-elements",
    }
    for task_id, endpoint in made.items():
        task = xcom(dag_run, task_id)
        assert task["task_status"] == "succeed" and sandbox.tasks[task["task_id"]].endpoint == endpoint
        route = sandbox.backend.path(f"/v1/{'audio' if endpoint == 'video-to-audio' else 'videos'}/{endpoint}")
        assert ("POST", route) in sandbox.requests and ("GET", f"{route}/{task['task_id']}") in sandbox.requests
        assert deferred_to(dag_run, task_id, caplog.text) == (deferred if mode == "deferrable" else None)
        stored = AIRFLOW_HOME / "media-family" / f"{task['task_id']}_0.mp4"
        assert task["task_result"]["videos"][0]["stored_path"] == str(stored)
        assert stored.read_bytes()[4:8] == b"ftyp"
        sent[task_id] = sandbox.tasks[task["task_id"]].body
    still = base64.b64encode((REPO / "example_dags" / "still.png").read_bytes()).decode()
    presenter = xcom(dag_run, "presenter")["task_id"]
    assert sent["speak"] == {
        "input": {
            "video_id": f"{presenter}-0",
            **({"task_id": presenter} if sandbox.profile == "cometapi" else {}),
            "mode": "text2video",
            "text": "Good morning",
            "voice_id": "girlfriend_1_speech02",
            "voice_language": "en",
        }
    }
    assert sent["omni"]["image_list"] == [{"image_url": still, "type": "first_frame"}]
    assert sent["omni"]["external_task_id"].startswith("airflow-")
    assert sent["effect"]["input"] == {"image": still, "duration": "5"}
    assert sent["hug"]["input"] == {"images": [still, "https://images.example/b.jpg"], "duration": "10"}
    assert sent["hug"]["effect_scene"] == "hug" and sent["hug"]["external_task_id"].startswith("airflow-")
    presenter_video = xcom(dag_run, "presenter")["task_result"]["videos"][0]["id"]
    assert sent["sound"] == {"video_id": presenter_video, "bgm_prompt": "calm piano", "external_task_id": ANY}
    [session] = sandbox.sessions.values()  # opened for the presenter's video, the cup marked on frame 12
    assert session.marked == {12: [{"x": 0.5, "y": 0.6}]}
    assert sent["swap"] == {
        "edit_mode": "swap",
        "session_id": session.session_id,
        "image_list": [{"image": still}],
        "prompt": "Swap the mug from <<<image_1>>> for the cup in <<<video_1>>>",
        "external_task_id": ANY,
    }
    jingle = xcom(dag_run, "jingle")
    route = sandbox.backend.path("/v1/audio/text-to-audio")
    assert ("GET", f"{route}/{jingle['task_id']}") in sandbox.requests
    assert deferred_to(dag_run, "jingle", caplog.text) == (deferred if mode == "deferrable" else None)
    stored = AIRFLOW_HOME / "media-family" / f"{jingle['task_id']}_audio_0.mp3"
    assert jingle["task_result"]["audios"][0]["stored_path"] == str(stored) and stored.read_bytes()[:3] == b"ID3"
    assert sandbox.tasks[jingle["task_id"]].body == {
        "prompt": "a short cheerful jingle",
        "duration": 5,
        "external_task_id": ANY,
    }
    assert len(sandbox.submissions) == 8  # one task per task instance


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_a_two_step_lip_sync_finds_the_face_then_syncs_the_sound_and_stores_the_video(
    dagbag, kling_sandbox, caplog, mode
):
    dag_run, tis = run(dagbag, f"kling_face_sync_{mode}")
    assert dag_run.state == "success", {key: ti.state for key, ti in tis.items()}
    synced = xcom(dag_run, "sync")
    assert kling_sandbox.tasks[synced["task_id"]].endpoint == "advanced-lip-sync"
    videos = kling_sandbox.backend.path("/v1/videos")
    assert [request for request in kling_sandbox.requests if request[0] == "POST"] == [
        ("POST", f"{videos}/text2video"),
        ("POST", f"{videos}/identify-face"),
        ("POST", f"{videos}/advanced-lip-sync"),
    ]
    assert ("GET", f"{videos}/advanced-lip-sync/{synced['task_id']}") in kling_sandbox.requests
    [session] = kling_sandbox.sessions.values()
    assert kling_sandbox.submissions[-1] == {
        "session_id": session.session_id,
        "face_choose": [
            {
                "face_id": "0",
                "sound_file": "https://audio.example/line.mp3",
                "sound_start_time": 0,
                "sound_end_time": 4000,
                "sound_insert_time": 0,
            }
        ],
    }
    stored = AIRFLOW_HOME / "media-family" / f"{synced['task_id']}_0.mp4"
    assert synced["task_result"]["videos"][0]["stored_path"] == str(stored) and stored.read_bytes()[4:8] == b"ftyp"
    deferred = TRIGGER if AIRFLOW_V_3_0_PLUS else "deferred (Airflow 2 names no trigger)"
    assert deferred_to(dag_run, "sync", caplog.text) == (deferred if mode == "deferrable" else None)
