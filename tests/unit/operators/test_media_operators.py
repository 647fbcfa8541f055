"""
Fast: the Omni video, video effects and lip-sync operators on both sandbox profiles: each argument reaches the
wire, one task per task instance, a retry takes up the generation it paid for, and a lost answer is found by its
external_task_id where the backend looks tasks up that way, else decided by on_unknown_submission.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import REPO
from support.task_context import StateStore, task_context

from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingValidationError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.audio import KlingTextToAudioOperator, KlingVideoToAudioOperator
from airflow_provider_kling.operators.effects import KlingVideoEffectsOperator
from airflow_provider_kling.operators.lip_sync import KlingLipSyncOperator
from airflow_provider_kling.operators.omni_video import KlingOmniVideoOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

STILL = str(REPO / "example_dags" / "still.png")
URL = "https://images.example/still.png"
FAST = {"poll_interval": 0.05}


def _omni(**more: Any) -> KlingOmniVideoOperator:
    return KlingOmniVideoOperator(
        task_id="omni",
        prompt="<<<image_1>>> at dusk",
        image_list=[{"image_url": STILL}],
        aspect_ratio="16:9",
        **FAST,
        **more,
    )


def _effect(**more: Any) -> KlingVideoEffectsOperator:
    return KlingVideoEffectsOperator(task_id="effect", effect_scene="hug", images=[URL, STILL], **FAST, **more)


def _lip_sync(source: dict[str, Any], **more: Any) -> KlingLipSyncOperator:
    return KlingLipSyncOperator(
        task_id="speak",
        mode="audio2video",
        video_id=source["task_result"]["videos"][0]["id"],
        parent_task_id=source["task_id"],
        audio_url="https://audio.example/line.mp3",
        **FAST,
        **more,
    )


def _source(sandbox) -> dict[str, Any]:
    sandbox.render_seconds = 0
    task = KlingHook().create_task("text2video", prompt="a presenter")
    return KlingHook().wait_for_task(task["task_id"], poll_interval=0.01, timeout=5)


def test_an_external_task_id_is_refused_when_the_dag_is_parsed_where_the_endpoint_takes_none():
    with pytest.raises(KlingValidationError) as raised:
        KlingLipSyncOperator(task_id="speak", mode="text2video", video_url=URL, external_task_id="mine")
    assert str(raised.value).startswith("Invalid external_task_id: is not taken by lip-sync")
    assert (
        KlingVideoEffectsOperator(task_id="e", effect_scene="hug", external_task_id="mine").external_task_id == "mine"
    )


def _sound(**more: Any) -> KlingTextToAudioOperator:
    return KlingTextToAudioOperator(task_id="sound", prompt="a door creaks", duration=4.5, **FAST, **more)


@pytest.mark.parametrize("make", [_omni, _effect, _sound], ids=["omni-video", "effects", "text-to-audio"])
def test_a_retry_takes_up_the_generation_it_paid_for_instead_of_paying_again(sandbox, make):
    first_try = task_context()
    first = make().execute(first_try)
    retry = task_context(try_number=2, store=StateStore(first_try["task_state_store"]))
    assert make().execute(retry)["task_id"] == first["task_id"]
    assert len(sandbox.submissions) == 1
    assert sandbox.submissions[0]["external_task_id"] == KlingOmniVideoOperator._derived_id(first_try)


@pytest.mark.parametrize("make", [_omni, _effect, _sound], ids=["omni-video", "effects", "text-to-audio"])
def test_a_lost_answer_is_found_by_its_external_task_id_on_kling_and_follows_the_policy_on_cometapi(sandbox, make):
    sandbox.inject(Fault(drop=True, method="POST"))
    context = task_context()
    if sandbox.backend.lookup_by_external_task_id:
        task = make(on_unknown_submission="fail").execute(context)
        assert len(sandbox.tasks) == 1 and task["task_id"] in sandbox.tasks
    else:
        with pytest.raises(KlingSubmissionUnknownError, match="may have created a task"):
            make(on_unknown_submission="fail").execute(context)
        assert len(sandbox.tasks) == 1  # created, its answer lost, not sent again


def test_a_lip_sync_records_no_external_task_id_and_a_lost_one_follows_the_policy(sandbox):
    source = _source(sandbox)
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1}})  # an earlier try's answer was lost
    with pytest.raises(KlingSubmissionUnknownError) as raised:
        _lip_sync(source, on_unknown_submission="fail").execute(task_context(try_number=2, store=store))
    assert "never learnt its task_id, and that endpoint takes no external_task_id" in str(raised.value)
    context = task_context()
    task = _lip_sync(source).execute(context)
    assert context["task_state_store"][SUBMISSION_STATE_KEY] == {"generation": 1, "task_id": task["task_id"]}
    assert sandbox.submissions[-1] == {
        "input": {
            "video_id": f"{source['task_id']}-0",
            **({"task_id": source["task_id"]} if sandbox.profile == "cometapi" else {}),
            "mode": "audio2video",
            "audio_type": "url",
            "audio_url": "https://audio.example/line.mp3",
        }
    }
    retry = task_context(try_number=2, store=StateStore(context["task_state_store"]))
    assert _lip_sync(source).execute(retry)["task_id"] == task["task_id"]
    assert len(sandbox.submissions) == 2  # the source and one lip-sync


def test_a_lip_sync_of_a_video_no_task_made_is_refused_by_the_service_once(sandbox):
    fake = {"task_id": "424242", "task_result": {"videos": [{"id": "424242-0"}]}}
    with pytest.raises(KlingInvalidRequestError, match="no video of this account"):
        _lip_sync(fake, retry_delay=0).execute(task_context())
    assert len(sandbox.submissions) == 1 and sandbox.tasks == {}  # refused once, not sent again


def test_bad_arguments_fail_the_run_before_any_request(sandbox):
    with pytest.raises(KlingValidationError, match="effect_scene"):
        KlingVideoEffectsOperator(task_id="effect", effect_scene="Not A Scene", image=URL).execute(task_context())
    with pytest.raises(KlingValidationError, match="aspect_ratio"):
        KlingOmniVideoOperator(task_id="omni", prompt="a").execute(task_context())
    with pytest.raises(KlingValidationError, match="text"):
        KlingLipSyncOperator(task_id="speak", mode="text2video", video_url=URL, voice_id="v").execute(task_context())
    assert sandbox.requests == []


def test_sound_for_a_video_stores_the_audio_and_the_video_with_it(sandbox, tmp_path):
    source = _source(sandbox)
    video_id = source["task_result"]["videos"][0]["id"]
    context = task_context()
    operator = KlingVideoToAudioOperator(
        task_id="sound", video_id=video_id, bgm_prompt="calm piano", output_path=str(tmp_path), **FAST
    )
    task = operator.execute(context)
    [audio] = task["task_result"]["audios"]
    [video] = task["task_result"]["videos"]
    assert audio["stored_path"] == str(tmp_path / f"{task['task_id']}_audio_0.mp3")
    assert (tmp_path / f"{task['task_id']}_audio_0.mp3").read_bytes()[:3] == b"ID3"
    assert video["stored_path"] == str(tmp_path / f"{task['task_id']}_0.mp4")
    route = sandbox.backend.path("/v1/audio/video-to-audio")
    assert ("POST", route) in sandbox.requests and ("GET", f"{route}/{task['task_id']}") in sandbox.requests
    assert sandbox.submissions[-1] == {
        "video_id": video_id,
        "bgm_prompt": "calm piano",
        "external_task_id": KlingVideoToAudioOperator._derived_id(context),
    }


def test_a_sound_from_a_text_is_a_success_without_a_video_and_its_audio_is_stored(sandbox, tmp_path):
    task = _sound(output_path=str(tmp_path)).execute(task_context())
    assert task["task_status"] == "succeed" and task["task_result"]["videos"] == []
    assert task["task_result"]["audios"][0]["stored_path"] == str(tmp_path / f"{task['task_id']}_audio_0.mp3")
    assert sandbox.submissions[0]["duration"] == 4.5
