"""
Fast: multi-elements on both sandbox profiles: the editing session opened and marked before the task, the video's
length checked against the duration before anything is paid for, one task per task instance across retries and a
lost answer, and the session's refusals failing at once.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from support.task_context import StateStore, task_context

from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingValidationError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.multi_elements import KlingMultiElementsOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

IMAGE = "https://images.example/hat.png"
VIDEO_URL = "https://videos.example/kitchen.mp4"
MARKS = [
    {"frame_index": 3, "points": [{"x": 0.5, "y": 0.25}, {"x": 0.52, "y": 0.3}]},
    {"frame_index": 40, "points": [{"x": 0.1, "y": 1}]},
]

NO_CLIP: dict[str, Any] = {"task_result": {"videos": [{"url": None}]}}


def _clip(sandbox, duration: str = "5") -> dict[str, Any]:
    sandbox.render_seconds = 0
    task = KlingHook().create_task("text2video", prompt="a kitchen", duration=duration)
    return KlingHook().wait_for_task(task["task_id"], poll_interval=0.01, timeout=5)


def _edit(clip: dict[str, Any], **more: Any) -> KlingMultiElementsOperator:
    fields: dict[str, Any] = {
        "edit_mode": "swap",
        "prompt": "Swap the hat from <<<image_1>>> for the cap in <<<video_1>>>",
        "video_url": clip["task_result"]["videos"][0]["url"],
        "selections": MARKS,
        "image_list": [IMAGE],
        **more,
    }
    return KlingMultiElementsOperator(task_id="edit", poll_interval=0.05, **fields)


def test_a_swap_opens_a_session_marks_each_frame_and_sends_only_the_session_with_the_edit(sandbox):
    clip = _clip(sandbox)
    context = task_context()
    task = _edit(clip, mode="pro").execute(context)
    assert task["task_status"] == "succeed" and sandbox.tasks[task["task_id"]].endpoint == "multi-elements"
    route = sandbox.backend.path("/v1/videos/multi-elements")
    calls = [request for request in sandbox.requests if request[1].startswith(route)]
    assert calls[:4] == [
        ("POST", f"{route}/init-selection"),
        ("POST", f"{route}/add-selection"),
        ("POST", f"{route}/add-selection"),
        ("POST", route),
    ]
    [session] = sandbox.sessions.values()
    assert session.marked == {3: MARKS[0]["points"], 40: MARKS[1]["points"]}
    assert sandbox.submissions[-1] == {
        "edit_mode": "swap",
        "session_id": session.session_id,
        "image_list": [{"image": IMAGE}],
        "prompt": "Swap the hat from <<<image_1>>> for the cap in <<<video_1>>>",
        "mode": "pro",
        "external_task_id": KlingMultiElementsOperator._derived_id(context),
    }


def test_an_addition_needs_no_marks_and_a_removal_no_images(sandbox):
    clip = _clip(sandbox)
    added = _edit(clip, edit_mode="addition", selections=None, image_list=[IMAGE, IMAGE]).execute(task_context())
    assert added["task_status"] == "succeed"
    assert ("POST", sandbox.backend.path("/v1/videos/multi-elements/add-selection")) not in sandbox.requests
    removed = _edit(clip, edit_mode="removal", image_list=None, prompt="Delete the cap from <<<video_1>>>")
    removed.task_id = "remove"
    assert removed.execute(task_context())["task_status"] == "succeed"
    assert "image_list" not in sandbox.submissions[-1] and sandbox.submissions[-1]["edit_mode"] == "removal"


def test_an_open_session_is_edited_by_its_id_without_opening_another(sandbox):
    clip = _clip(sandbox)
    opened = KlingHook().open_editing_session(video_url=clip["task_result"]["videos"][0]["url"], selections=MARKS)
    session_id = opened["session_id"]
    task = _edit(clip, video_url=None, selections=None, session_id=session_id).execute(task_context())
    assert task["task_status"] == "succeed" and len(sandbox.sessions) == 1
    assert sandbox.submissions[-1]["session_id"] == session_id


def test_a_video_whose_length_does_not_fit_the_duration_is_refused_before_the_task_is_paid_for(sandbox):
    clip = _clip(sandbox, duration="10")
    with pytest.raises(KlingValidationError) as raised:
        _edit(clip).execute(task_context())
    assert str(raised.value) == (
        "Invalid duration: is 5 s, which needs a video of 2 to 5 s; this one lasts 10 s: set duration=10"
    )
    assert len(sandbox.submissions) == 1  # the clip only: no edit was sent
    assert _edit(clip, duration=10).execute(task_context())["task_status"] == "succeed"


def test_a_retry_takes_up_the_edit_it_paid_for_without_opening_another_session(sandbox):
    clip = _clip(sandbox)
    first_try = task_context()
    first = _edit(clip).execute(first_try)
    retry = task_context(try_number=2, store=StateStore(first_try["task_state_store"]))
    assert _edit(clip).execute(retry)["task_id"] == first["task_id"]
    assert len(sandbox.submissions) == 2 and len(sandbox.sessions) == 1  # the clip and one edit


def test_a_lost_answer_is_found_by_its_external_task_id_on_kling_and_follows_the_policy_on_cometapi(sandbox):
    clip = _clip(sandbox)
    sandbox.inject(Fault(drop=True, method="POST", path="/multi-elements"))  # the task's answer, not the session's
    edit = _edit(clip, on_unknown_submission="fail")
    if sandbox.backend.lookup_by_external_task_id:
        assert edit.execute(task_context())["task_id"] in sandbox.tasks
    else:
        with pytest.raises(KlingSubmissionUnknownError, match="may have created a task"):
            edit.execute(task_context())
    assert len(sandbox.tasks) == 2 and len(sandbox.sessions) == 1  # the edit created once, its answer lost


def test_the_session_refuses_marks_beyond_the_videos_frames_once_and_nothing_is_paid_for(sandbox):
    clip = _clip(sandbox)
    with pytest.raises(KlingInvalidRequestError, match="the video has frames 0 to 119"):
        _edit(clip, selections=[{"frame_index": 500, "points": [{"x": 0.5, "y": 0.5}]}]).execute(task_context())
    add = ("POST", sandbox.backend.path("/v1/videos/multi-elements/add-selection"))
    assert sandbox.requests.count(add) == 1 and len(sandbox.submissions) == 1


def test_an_unknown_session_is_refused_by_the_service(sandbox):
    with pytest.raises(KlingInvalidRequestError, match="is no open multi-elements session"):
        _edit(NO_CLIP, video_url=None, selections=None, session_id="123456").execute(task_context())
    assert len(sandbox.submissions) == 1 and sandbox.tasks == {}  # refused once, not sent again


def test_a_video_id_goes_to_kling_and_is_refused_before_any_request_on_cometapi(sandbox):
    clip = _clip(sandbox)
    video_id = clip["task_result"]["videos"][0]["id"]
    edit = _edit(clip, video_url=None, video_id=video_id)
    if sandbox.profile == "kling":
        assert edit.execute(task_context())["task_status"] == "succeed"
        [session] = sandbox.sessions.values()
        assert session.video == {"video_id": video_id} and "video_id" not in sandbox.submissions[-1]
        return
    sent = len(sandbox.requests)
    with pytest.raises(KlingValidationError, match="give video_url instead"):
        edit.execute(task_context())
    assert len(sandbox.requests) == sent


def test_a_session_that_refuses_the_edit_leaves_no_record_so_the_next_try_is_a_first_submission(sandbox):
    clip = _clip(sandbox, duration="10")
    context = task_context()
    with pytest.raises(KlingValidationError, match="set duration=10"):
        _edit(clip, on_unknown_submission="fail").execute(context)
    assert SUBMISSION_STATE_KEY not in context["task_state_store"]  # nothing was sent: nothing to look for
    retry = task_context(try_number=2, store=StateStore(context["task_state_store"]))
    assert _edit(clip, duration=10, on_unknown_submission="fail").execute(retry)["task_status"] == "succeed"


def test_a_deferred_wait_for_a_slot_sends_the_edit_again_in_the_session_opened_for_it(sandbox):
    clip = _clip(sandbox)
    sandbox.concurrency, sandbox.render_seconds = 1, 3600
    KlingHook().create_task("text2video", prompt="another DAG's video")
    sandbox.render_seconds = 0.1
    context = task_context()
    edit = _edit(clip, deferrable=True)
    with pytest.raises(TaskDeferred) as waiting:
        edit.execute(context)
    [session] = sandbox.sessions.values()
    assert context["task_state_store"][SUBMISSION_STATE_KEY]["session"]["fields"] == {"session_id": session.session_id}
    sandbox.end_renders_in(0)
    event = {"status": "slot", "message": "A slot may be free", **waiting.value.trigger.serialize()[1]}
    with pytest.raises(TaskDeferred):  # submitted, now waiting for the render
        edit.submit_after_slot_wait(context, event)
    assert len(sandbox.sessions) == 1 and [body.get("session_id") for body in sandbox.submissions[-2:]] == [
        session.session_id,
        session.session_id,
    ]


def test_open_editing_session_refuses_what_its_endpoint_or_backend_cannot_open(sandbox):
    hook = KlingHook()
    with pytest.raises(KlingValidationError, match="'effects' has no editing session; allowed: multi-elements"):
        hook.open_editing_session("effects", video_url=VIDEO_URL)
    with pytest.raises(KlingValidationError, match="marks frames for multi-elements only"):
        hook.open_editing_session("advanced-lip-sync", video_url=VIDEO_URL, selections=MARKS)
    with pytest.raises(KlingValidationError, match="or video_id \\(one of them\\) is required"):
        hook.open_editing_session(video_url=VIDEO_URL, video_id="1-0")
    if sandbox.profile == "cometapi":
        with pytest.raises(KlingValidationError, match="advanced-lip-sync is not available on the cometapi backend"):
            hook.open_editing_session("advanced-lip-sync", video_url=VIDEO_URL)
        with pytest.raises(KlingValidationError, match="give video_url instead"):
            hook.open_editing_session(video_id="1-0")
    assert sandbox.requests == []


def test_extra_fields_cannot_replace_the_object_the_provider_builds(sandbox):
    with pytest.raises(KlingValidationError, match="holds input; allowed: only fields without their own argument"):
        KlingHook().validate("effects", effect_scene="hug", images=[IMAGE, IMAGE], extra_fields={"input": {}})
