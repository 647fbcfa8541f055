"""
Fast: Kling's two-step lip-sync: identify-face before the task, the face and the sound's place chosen and checked
before anything is paid for, one task per task instance, a lost answer decided by on_unknown_submission, and CometAPI
refused before any request.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import pytest
from support.task_context import StateStore, task_context

from airflow_provider_kling.contract.lip_sync import fill_face
from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingValidationError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.lip_sync import KlingAdvancedLipSyncOperator
from airflow_provider_kling.sandbox import Fault

SOUND = "https://audio.example/line.mp3"


def _clip(sandbox) -> dict[str, Any]:
    sandbox.render_seconds = 0
    task = KlingHook().create_task("text2video", prompt="a presenter")
    return KlingHook().wait_for_task(task["task_id"], poll_interval=0.01, timeout=5)


def _sync(clip: dict[str, Any], **more: Any) -> KlingAdvancedLipSyncOperator:
    fields: dict[str, Any] = {"video_url": clip["task_result"]["videos"][0]["url"], "sound_file": SOUND, **more}
    fields.setdefault("sound_end_time", 3000)
    return KlingAdvancedLipSyncOperator(task_id="sync", poll_interval=0.05, **fields)


def test_the_face_is_identified_then_the_sound_put_on_it_from_where_it_appears(kling_sandbox):
    clip = _clip(kling_sandbox)
    context = task_context()
    task = _sync(clip, sound_start_time=500, sound_end_time=4500, sound_volume=1.5).execute(context)
    assert task["task_status"] == "succeed"
    [session] = kling_sandbox.sessions.values()
    assert kling_sandbox.submissions[-1] == {
        "session_id": session.session_id,
        "face_choose": [
            {
                "face_id": "0",
                "sound_file": SOUND,
                "sound_start_time": 500,
                "sound_end_time": 4500,
                "sound_insert_time": 0,
                "sound_volume": 1.5,
            }
        ],
    }
    assert context["task_state_store"]["kling_submission"] == {
        "generation": 1,
        "session": {
            "opened_at": ANY,
            "fields": {"session_id": session.session_id, "face_id": "0", "sound_insert_time": 0},
        },
        "task_id": task["task_id"],
    }
    assert session.video == {"video_url": clip["task_result"]["videos"][0]["url"]}
    retry = task_context(try_number=2, store=StateStore(context["task_state_store"]))
    assert _sync(clip).execute(retry)["task_id"] == task["task_id"]
    assert len(kling_sandbox.submissions) == 2 and len(kling_sandbox.sessions) == 1  # the clip and one sync


def test_a_sound_that_misses_the_face_or_a_face_the_video_has_not_is_refused_before_the_task(kling_sandbox):
    clip = _clip(kling_sandbox)
    with pytest.raises(KlingValidationError) as missed:
        _sync(clip, sound_insert_time=4000).execute(task_context())
    assert str(missed.value) == (
        "Invalid sound_insert_time: puts the sound 0.94 s over face 0 (seen from 0 to 5040 ms); allowed: an overlap "
        "of at least 2 s"
    )
    with pytest.raises(KlingValidationError, match="allowed: a face of this video: 0"):
        _sync(clip, face_id="7").execute(task_context())
    assert len(kling_sandbox.submissions) == 1  # the clip: no lip-sync was sent


def test_an_open_session_is_used_with_the_face_and_place_given(kling_sandbox):
    clip = _clip(kling_sandbox)
    opened = KlingHook().open_editing_session("advanced-lip-sync", video_id=clip["task_result"]["videos"][0]["id"])
    [face] = opened["face_data"]
    task = _sync(
        clip, video_url=None, session_id=opened["session_id"], face_id=face["face_id"], sound_insert_time=1000
    ).execute(task_context())
    assert task["task_status"] == "succeed" and len(kling_sandbox.sessions) == 1
    assert kling_sandbox.submissions[-1]["face_choose"][0]["sound_insert_time"] == 1000


def test_a_lost_answer_follows_the_policy_as_no_external_task_id_can_find_it(kling_sandbox):
    clip = _clip(kling_sandbox)
    kling_sandbox.inject(Fault(drop=True, method="POST", path="/advanced-lip-sync"))
    with pytest.raises(KlingSubmissionUnknownError, match="may have created a task"):
        _sync(clip, on_unknown_submission="fail").execute(task_context())
    assert len(kling_sandbox.tasks) == 2 and len(kling_sandbox.sessions) == 1  # created once, its answer lost


def test_cometapi_is_refused_before_any_request(cometapi_sandbox):
    with pytest.raises(KlingValidationError) as raised:
        _sync({"task_result": {"videos": [{"url": "https://v.example/a.mp4"}]}}).execute(task_context())
    assert "advanced-lip-sync is not available on the cometapi backend" in str(raised.value)
    assert "use a connection whose backend is kling, or lip-sync (KlingLipSyncOperator)" in str(raised.value)
    assert cometapi_sandbox.requests == []


def test_the_face_on_screen_longest_is_chosen_when_none_is_given():
    faces = [
        {"face_id": "a", "start_time": 0, "end_time": 2500},
        {"face_id": "b", "start_time": 3000, "end_time": 9000},
        {"face_id": "c", "start_time": 9500, "end_time": 10000},
    ]
    body = {"sound_file": SOUND, "sound_start_time": 0, "sound_end_time": 4000}
    filled = fill_face(body, {"session_id": "s1", "face_data": faces})
    assert filled == {**body, "session_id": "s1", "face_id": "b", "sound_insert_time": 3000}
    assert fill_face({**body, "face_id": "a"}, {"session_id": "s1", "face_data": faces})["sound_insert_time"] == 0
    with pytest.raises(KlingInvalidRequestError, match="shows no face identify-face could use"):
        fill_face(body, {"session_id": "s1", "face_data": []})
