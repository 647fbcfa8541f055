"""
Fast: Omni video, video effects and lip-sync as data: good requests as they go on the wire on each backend, every
bad input refused before any request naming the field and what is allowed (one table), and the capability map.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from airflow_provider_kling.contract import COMETAPI, KLING, build_request, endpoint_named, split_request_fields
from airflow_provider_kling.contract.models import MODELS, models_for
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.hooks.kling import KlingHook

URL = "https://images.example/still.png"
VIDEO = "https://videos.example/clip.mp4"
AUDIO = base64.b64encode(b"ID3" + bytes(64)).decode()
SPEAK = {"mode": "text2video", "text": "Hello", "voice_id": "girlfriend_1_speech02"}
FROM_VIDEO = {"video_id": "860001-0", "parent_task_id": "860001"}
MARKS = [{"frame_index": 0, "points": [{"x": 0.5, "y": 0.5}]}]
SYNC = {"video_url": VIDEO, "sound_file": "https://audio.example/a.mp3", "sound_end_time": 3000}
EDIT = {"edit_mode": "removal", "prompt": "delete the cup", "video_url": VIDEO, "selections": MARKS}


@pytest.mark.parametrize(
    ("endpoint", "backend", "fields", "body"),
    [
        (
            "omni-video",
            COMETAPI,
            {"prompt": "a cat", "aspect_ratio": "16:9"},
            {"prompt": "a cat", "aspect_ratio": "16:9"},
        ),
        (
            "omni-video",
            KLING,
            {
                "prompt": "<<<image_1>>> walks into <<<video_1>>>",
                "model_name": "kling-v3-omni",
                "image_list": [{"image_url": URL}],
                "element_list": [{"element_id": 7}],
                "video_list": [{"video_url": VIDEO, "refer_type": "feature", "keep_original_sound": "no"}],
                "aspect_ratio": "9:16",
                "duration": 8,
                "mode": "std",
                "sound": "off",
            },
            {
                "prompt": "<<<image_1>>> walks into <<<video_1>>>",
                "model_name": "kling-v3-omni",
                "image_list": [{"image_url": URL}],
                "element_list": [{"element_id": 7}],
                "video_list": [{"video_url": VIDEO, "refer_type": "feature", "keep_original_sound": "no"}],
                "aspect_ratio": "9:16",
                "duration": "8",
                "mode": "std",
                "sound": "off",
            },
        ),
        (
            "omni-video",
            KLING,
            {"prompt": "make it night", "video_list": [{"video_url": VIDEO}]},
            {"prompt": "make it night", "video_list": [{"video_url": VIDEO, "refer_type": "base"}]},
        ),
        (
            "omni-video",
            KLING,
            {
                "model_name": "kling-v3-omni",
                "image_list": [{"image_url": URL, "type": "first_frame"}, {"image_url": URL, "type": "end_frame"}],
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": [{"prompt": "dawn", "duration": 4}, {"prompt": "noon", "duration": 9}],
                "sound": "on",
            },
            {
                "model_name": "kling-v3-omni",
                "image_list": [{"image_url": URL, "type": "first_frame"}, {"image_url": URL, "type": "end_frame"}],
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": [
                    {"index": 1, "prompt": "dawn", "duration": "4"},
                    {"index": 2, "prompt": "noon", "duration": "9"},
                ],
                "duration": "13",
                "sound": "on",
            },
        ),
        (
            "effects",
            COMETAPI,
            {"effect_scene": "bloombloom", "image": URL},
            {"effect_scene": "bloombloom", "input": {"image": URL, "duration": "5"}},
        ),
        (
            "effects",
            KLING,
            {"effect_scene": "fight", "images": [URL, URL], "model_name": "kling-v1-6", "mode": "pro", "duration": 10},
            {
                "effect_scene": "fight",
                "input": {"images": [URL, URL], "model_name": "kling-v1-6", "mode": "pro", "duration": "10"},
            },
        ),
        (
            "lip-sync",
            COMETAPI,
            {**FROM_VIDEO, **SPEAK, "voice_language": "zh", "voice_speed": 1.2},
            {
                "input": {
                    "video_id": "860001-0",
                    "task_id": "860001",
                    "mode": "text2video",
                    "text": "Hello",
                    "voice_id": "girlfriend_1_speech02",
                    "voice_language": "zh",
                    "voice_speed": 1.2,
                }
            },
        ),
        (
            "lip-sync",
            KLING,
            {"video_url": VIDEO, "mode": "audio2video", "audio_url": "https://audio.example/line.mp3"},
            {
                "input": {
                    "video_url": VIDEO,
                    "mode": "audio2video",
                    "audio_type": "url",
                    "audio_url": "https://audio.example/line.mp3",
                }
            },
        ),
        (
            "lip-sync",
            KLING,
            {"video_id": "860001-0", "mode": "audio2video", "audio_file": AUDIO, "callback_url": "https://h.example/k"},
            {
                "input": {"video_id": "860001-0", "mode": "audio2video", "audio_type": "file", "audio_file": AUDIO},
                "callback_url": "https://h.example/k",
            },
        ),
        (
            "lip-sync",
            KLING,
            {**FROM_VIDEO, **SPEAK},
            {"input": {"video_id": "860001-0", **SPEAK, "voice_language": "en"}},
        ),
        (
            "effects",
            KLING,
            {"effect_scene": "fight", "images": [URL, URL]},
            {"effect_scene": "fight", "input": {"images": [URL, URL], "model_name": "kling-v1-6", "duration": "5"}},
        ),
        (
            "video-to-audio",
            COMETAPI,
            {"video_id": "860001-0", "sound_effect_prompt": "rain", "bgm_prompt": "calm piano", "asmr_mode": True},
            {"video_id": "860001-0", "sound_effect_prompt": "rain", "bgm_prompt": "calm piano", "asmr_mode": True},
        ),
        ("video-to-audio", KLING, {"video_url": VIDEO}, {"video_url": VIDEO}),
        (
            "text-to-audio",
            KLING,
            {"prompt": "a door creaks", "duration": "4.5"},
            {"prompt": "a door creaks", "duration": 4.5},
        ),
        ("text-to-audio", COMETAPI, {"prompt": "thunder", "duration": 10}, {"prompt": "thunder", "duration": 10}),
        (
            "multi-elements",
            KLING,
            {"edit_mode": "addition", "prompt": "add <<<image_1>>>", "video_id": "860001-0", "image_list": [URL, URL]},
            {
                "edit_mode": "addition",
                "video_id": "860001-0",
                "image_list": [{"image": URL}, {"image": URL}],
                "prompt": "add <<<image_1>>>",
            },
        ),
        (
            "multi-elements",
            COMETAPI,
            {"edit_mode": "swap", "prompt": "swap", "video_url": VIDEO, "selections": MARKS, "image_list": [URL]},
            {
                "edit_mode": "swap",
                "video_url": VIDEO,
                "selections": MARKS,
                "image_list": [{"image": URL}],
                "prompt": "swap",
            },
        ),
        (
            "multi-elements",
            COMETAPI,
            {
                "edit_mode": "removal",
                "prompt": "delete the cup",
                "session_id": "77",
                "negative_prompt": "blur",
                "model_name": "kling-v1-6",
                "mode": "pro",
                "duration": 10,
                "external_task_id": "mine",
            },
            {
                "edit_mode": "removal",
                "session_id": "77",
                "prompt": "delete the cup",
                "negative_prompt": "blur",
                "model_name": "kling-v1-6",
                "mode": "pro",
                "duration": "10",
                "external_task_id": "mine",
            },
        ),
        (
            "advanced-lip-sync",
            KLING,
            {"video_id": "860001-0", "sound_file": "http://127.0.0.1:8080/s.mp3", "sound_end_time": 2000},
            {
                "video_id": "860001-0",
                "face_choose": [
                    {"sound_file": "http://127.0.0.1:8080/s.mp3", "sound_start_time": 0, "sound_end_time": 2000}
                ],
            },
        ),
        (
            "advanced-lip-sync",
            KLING,
            {"video_url": VIDEO, "sound_file": VIDEO, "sound_end_time": "4000", "original_audio_volume": "0.5"},
            {
                "video_url": VIDEO,
                "face_choose": [
                    {"sound_file": VIDEO, "sound_start_time": 0, "sound_end_time": 4000, "original_audio_volume": 0.5}
                ],
            },
        ),
        (
            "advanced-lip-sync",
            KLING,
            {"video_url": VIDEO, "sound_file": AUDIO, "sound_end_time": 2000},
            {
                "video_url": VIDEO,
                "face_choose": [{"sound_file": AUDIO, "sound_start_time": 0, "sound_end_time": 2000}],
            },
        ),
        (
            "advanced-lip-sync",
            KLING,
            {
                "session_id": "s1",
                "face_id": "f1",
                "audio_id": "tts-1",
                "sound_start_time": 1000,
                "sound_end_time": 61000,
                "sound_insert_time": 500,
                "sound_volume": 0,
                "original_audio_volume": 2,
                "callback_url": "https://h.example/k",
            },
            {
                "session_id": "s1",
                "face_choose": [
                    {
                        "face_id": "f1",
                        "audio_id": "tts-1",
                        "sound_start_time": 1000,
                        "sound_end_time": 61000,
                        "sound_insert_time": 500,
                        "sound_volume": 0,
                        "original_audio_volume": 2,
                    }
                ],
                "callback_url": "https://h.example/k",
            },
        ),
    ],
    ids=[
        "omni-text",
        "omni-references",
        "omni-edit",
        "omni-shots",
        "effect-one-image",
        "effect-two-people",
        "lip-sync-voice",
        "lip-sync-audio-url",
        "lip-sync-audio-file",
        "lip-sync-on-kling-sends-no-parent-task",
        "effect-fight-on-its-only-model",
        "video-to-audio-by-id",
        "video-to-audio-by-url",
        "text-to-audio-templated",
        "text-to-audio-whole-seconds",
        "multi-elements-addition-by-id",
        "multi-elements-swap-marked",
        "multi-elements-removal-in-an-open-session",
        "advanced-lip-sync-by-video-id-and-an-http-sound",
        "advanced-lip-sync-templated-numbers",
        "advanced-lip-sync-opening-its-session",
        "advanced-lip-sync-in-an-open-session",
    ],
)
def test_good_requests_go_on_the_wire_as_each_backend_documents_them(endpoint, backend, fields, body):
    kind = endpoint_named(endpoint)
    sent = build_request(kind, fields, backend=backend)
    assert sent == body
    # The sandbox reads a body back the same way: what the operator's arguments were, input object or not.
    known, extra = split_request_fields(sent, kind)
    assert extra == {} and build_request(kind, known, backend=backend) == body


#: Every bad input of the new endpoints: (endpoint, backend, fields, the field named, what the message says).
BAD_INPUTS = [
    ("omni-video", COMETAPI, {"aspect_ratio": "1:1"}, "prompt", "is required: 1 to 2500 characters"),
    ("omni-video", COMETAPI, {"prompt": "a"}, "aspect_ratio", "is required without a first frame or a video to edit"),
    (
        "omni-video",
        COMETAPI,
        {"prompt": "a", "aspect_ratio": "1:1", "model_name": "kling-v3-omni"},
        "model_name",
        "allowed on the cometapi backend: kling-video-o1; kling-v3-omni only on the kling backend",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "model_name": "kling-v3"},
        "model_name",
        "allowed on the kling backend: kling-video-o1, kling-v3-omni",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "duration": 7},
        "duration",
        "got '7'; allowed: 5, 10 with kling-video-o1",
    ),
    (
        "omni-video",
        KLING,
        {
            "prompt": "a",
            "aspect_ratio": "1:1",
            "model_name": "kling-v3-omni",
            "duration": 12,
            "video_list": [{"video_url": VIDEO, "refer_type": "feature"}],
        },
        "duration",
        "allowed: 3, 4, 5, 6, 7, 8, 9, 10 with kling-v3-omni and a reference video",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "video_list": [{"video_url": VIDEO}], "duration": 5},
        "duration",
        "is the edited video's own",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "sound": "on"},
        "sound",
        "'on' is not supported by kling-video-o1; Omni models with audio: kling-v3-omni",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "model_name": "kling-v3-omni", "sound": "on", "video_list": [{"video_url": VIDEO}]},
        "sound",
        "must be 'off' with a reference video",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "image_list": [{"image_url": URL, "type": "end_frame"}]},
        "image_list",
        "has an end_frame without a first_frame",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "image_list": [{"image_url": URL, "type": "middle"}]},
        "image_list[0].type",
        "allowed: first_frame, end_frame",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "image_list": [URL]},
        "image_list[0]",
        "allowed: a dict with image_url (and type)",
    ),
    (
        "omni-video",
        KLING,
        {
            "prompt": "a",
            "aspect_ratio": "1:1",
            "image_list": [{"image_url": URL}] * 5,
            "video_list": [{"video_url": VIDEO, "refer_type": "feature"}],
        },
        "image_list",
        "hold 5 references; allowed with a reference video: 4",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "element_list": [{"element_id": "x"}]},
        "element_list[0]",
        'allowed: {"element_id": <a whole number>}',
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "video_list": [{"video_url": "ftp://v.example/a.mp4"}]},
        "video_list[0].video_url",
        "allowed: an http(s) URL Kling can fetch",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "video_list": [{"video_url": VIDEO}, {"video_url": VIDEO}]},
        "video_list",
        "allowed: a list of one video",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "multi_shot": True, "shot_type": "intelligence"},
        "multi_shot",
        "is not supported by the default model",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "negative_prompt": "blur"},
        "negative_prompt",
        "is not a Omni video field",
    ),
    ("effects", COMETAPI, {"effect_scene": "Hug Me", "image": URL}, "effect_scene", "allowed: a scene name"),
    ("effects", COMETAPI, {"effect_scene": "hug", "images": [URL]}, "images", "allowed for 'hug': two images"),
    (
        "effects",
        COMETAPI,
        {"effect_scene": "hug", "images": [URL, URL], "image": URL},
        "image",
        "is for one-image scenes",
    ),
    ("effects", COMETAPI, {"effect_scene": "squish"}, "image", "is required for 'squish'"),
    ("effects", COMETAPI, {"effect_scene": "squish", "image": URL, "duration": 10}, "duration", "allowed: 5"),
    (
        "effects",
        COMETAPI,
        {"effect_scene": "squish", "image": URL, "mode": "pro"},
        "mode",
        "is only for the two-person scenes",
    ),
    (
        "effects",
        KLING,
        {"effect_scene": "fight", "images": [URL, URL], "model_name": "kling-v1"},
        "model_name",
        "allowed: kling-v1-6",
    ),
    (
        "effects",
        KLING,
        {"effect_scene": "kiss", "images": [URL, "not an image"]},
        "images[1]",
        "neither a URL nor Base64",
    ),
    ("lip-sync", KLING, SPEAK, "video_id", "or video_url (one of them) is required"),
    ("lip-sync", KLING, {**SPEAK, "video_id": "1-0", "video_url": VIDEO}, "video_id", "one of them"),
    (
        "lip-sync",
        COMETAPI,
        {**SPEAK, "video_id": "1-0"},
        "parent_task_id",
        "is required on the cometapi backend: the Kling task_id that made the video",
    ),
    (
        "lip-sync",
        KLING,
        {**SPEAK, "video_url": VIDEO, "parent_task_id": "1"},
        "parent_task_id",
        "is only used with video_id",
    ),
    ("lip-sync", KLING, {"video_url": VIDEO}, "mode", "is required; allowed: text2video, audio2video"),
    (
        "lip-sync",
        KLING,
        {"video_url": VIDEO, "mode": "text2video", "voice_id": "x"},
        "text",
        "is required with mode='text2video'",
    ),
    ("lip-sync", KLING, {**SPEAK, "video_url": VIDEO, "text": "a" * 121}, "text", "120"),
    (
        "lip-sync",
        KLING,
        {**SPEAK, "video_url": VIDEO, "voice_id": "a voice"},
        "voice_id",
        "allowed: an id from Kling's voice list",
    ),
    ("lip-sync", KLING, {**SPEAK, "video_url": VIDEO, "voice_language": "fr"}, "voice_language", "allowed: en, zh"),
    (
        "lip-sync",
        KLING,
        {**SPEAK, "video_url": VIDEO, "voice_speed": 3},
        "voice_speed",
        "allowed: a number from 0.8 to 2.0",
    ),
    (
        "lip-sync",
        KLING,
        {**SPEAK, "video_url": VIDEO, "audio_url": VIDEO},
        "audio_url",
        "is not used with mode='text2video'",
    ),
    ("lip-sync", KLING, {"video_url": VIDEO, "mode": "audio2video"}, "audio_url", "or audio_file (one of them)"),
    (
        "lip-sync",
        KLING,
        {"video_url": VIDEO, "mode": "audio2video", "audio_file": "not base64!"},
        "audio_file",
        "allowed: the Base64 of an mp3, wav, m4a or aac file of at most 5 MB",
    ),
    (
        "lip-sync",
        KLING,
        {"video_url": VIDEO, "mode": "audio2video", "audio_url": VIDEO, "audio_type": "file"},
        "audio_type",
        "must be 'url' with audio_url",
    ),
    (
        "lip-sync",
        KLING,
        {**SPEAK, "video_url": VIDEO, "external_task_id": "mine"},
        "external_task_id",
        "is not a lip-sync field",
    ),
    ("video-to-audio", KLING, {"bgm_prompt": "piano"}, "video_id", "or video_url (one of them) is required"),
    ("video-to-audio", KLING, {"video_url": VIDEO, "bgm_prompt": "a" * 201}, "bgm_prompt", "200"),
    ("video-to-audio", KLING, {"video_url": VIDEO, "asmr_mode": "yes"}, "asmr_mode", "allowed: True or False"),
    ("video-to-audio", KLING, {"video_id": "a b"}, "video_id", "the id of a video Kling made"),
    ("text-to-audio", KLING, {"duration": 5}, "prompt", "is required: the sound, 1 to 200 characters"),
    ("text-to-audio", KLING, {"prompt": "rain"}, "duration", "allowed: seconds from 3 to 10, at most one decimal"),
    ("text-to-audio", KLING, {"prompt": "rain", "duration": 2.5}, "duration", "allowed: seconds from 3 to 10"),
    ("text-to-audio", KLING, {"prompt": "rain", "duration": 4.25}, "duration", "at most one decimal"),
    ("text-to-audio", KLING, {"prompt": "rain", "duration": "soon"}, "duration", "got 'soon'"),
    ("text-to-audio", KLING, {"prompt": "rain", "duration": True}, "duration", "got True"),
    ("lip-sync", KLING, {**SPEAK, "video_url": VIDEO, "voice_speed": 1.25}, "voice_speed", "at most one decimal"),
    (
        "effects",
        KLING,
        {"effect_scene": "squish", "image": URL, "model_name": "kling-v1"},
        "model_name",
        "allowed: kling-v1-6",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "image_list": [{"image_url": URL, "type": "first_frame"}]},
        "aspect_ratio",
        "is set by the first frame; leave it unset",
    ),
    (
        "omni-video",
        KLING,
        {"prompt": "a", "aspect_ratio": "1:1", "video_list": [{"video_url": VIDEO}]},
        "aspect_ratio",
        "is set by the video to edit",
    ),
    (
        "omni-video",
        KLING,
        {
            "model_name": "kling-v3-omni",
            "video_list": [{"video_url": VIDEO}],
            "multi_shot": True,
            "shot_type": "intelligence",
            "prompt": "a",
        },
        "multi_shot",
        "cannot edit a video",
    ),
    ("multi-elements", KLING, {"prompt": "a", "video_url": VIDEO}, "edit_mode", "allowed: addition, swap, removal"),
    ("multi-elements", KLING, {**EDIT, "edit_mode": "replace"}, "edit_mode", "allowed: addition, swap, removal"),
    ("multi-elements", KLING, {**EDIT, "video_url": None}, "video_url", "or video_id (one of them), or the session_id"),
    ("multi-elements", KLING, {**EDIT, "video_id": "1-0"}, "video_url", "or video_id (one of them)"),
    ("multi-elements", COMETAPI, {**EDIT, "video_url": None, "video_id": "1-0"}, "video_id", "give video_url instead"),
    ("multi-elements", KLING, {**EDIT, "session_id": "77"}, "video_url", "is not used with session_id"),
    ("multi-elements", KLING, {**EDIT, "video_url": "ftp://v.example/a.mp4"}, "video_url", "an http(s) URL"),
    ("multi-elements", KLING, {**EDIT, "selections": None}, "selections", "is required with edit_mode='removal'"),
    ("multi-elements", KLING, {**EDIT, "selections": []}, "selections", "1 to 10 frames"),
    ("multi-elements", KLING, {**EDIT, "selections": MARKS * 11}, "selections", "1 to 10 frames"),
    ("multi-elements", KLING, {**EDIT, "selections": [{"frame_index": 0}]}, "selections[0]", "'points'"),
    ("multi-elements", KLING, {**EDIT, "selections": MARKS * 2}, "selections[1].frame_index", "each frame once"),
    (
        "multi-elements",
        KLING,
        {**EDIT, "selections": [{"frame_index": -1, "points": [{"x": 0, "y": 0}]}]},
        "selections[0].frame_index",
        "a frame number from 0",
    ),
    (
        "multi-elements",
        KLING,
        {**EDIT, "selections": [{"frame_index": 0, "points": [{"x": 0, "y": 0}] * 11}]},
        "selections[0].points",
        "1 to 10 points",
    ),
    (
        "multi-elements",
        KLING,
        {**EDIT, "selections": [{"frame_index": 0, "points": [{"x": 1.5, "y": 0}]}]},
        "selections[0].points[0]",
        "'x': 0..1",
    ),
    ("multi-elements", KLING, {**EDIT, "image_list": [URL]}, "image_list", "with edit_mode='removal': none"),
    ("multi-elements", KLING, {**EDIT, "edit_mode": "swap"}, "image_list", "with edit_mode='swap': one image of"),
    (
        "multi-elements",
        KLING,
        {**EDIT, "edit_mode": "addition", "image_list": [URL] * 3},
        "image_list",
        "with edit_mode='addition': 1 to 2 images",
    ),
    ("multi-elements", KLING, {**EDIT, "edit_mode": "swap", "image_list": ["nope"]}, "image_list[0]", "allowed:"),
    ("multi-elements", KLING, {**EDIT, "prompt": None}, "prompt", "naming <<<video_1>>>"),
    ("multi-elements", COMETAPI, {**EDIT, "prompt": "a" * 501}, "prompt", "500"),
    ("multi-elements", KLING, {**EDIT, "prompt": "a" * 2501}, "prompt", "2500"),
    ("multi-elements", KLING, {**EDIT, "model_name": "kling-v3"}, "model_name", "allowed: kling-v1-6"),
    ("multi-elements", KLING, {**EDIT, "duration": 7}, "duration", "allowed: 5, 10"),
    ("multi-elements", KLING, {**EDIT, "mode": "max"}, "mode", "allowed: std, pro"),
    ("advanced-lip-sync", COMETAPI, SYNC, "endpoint", "not available on the cometapi backend"),
    ("advanced-lip-sync", KLING, {**SYNC, "video_url": None}, "video_url", "or video_id (one of them)"),
    ("advanced-lip-sync", KLING, {**SYNC, "video_id": "1-0"}, "video_url", "or video_id (one of them)"),
    ("advanced-lip-sync", KLING, {**SYNC, "session_id": "s1"}, "video_url", "is not used with session_id"),
    (
        "advanced-lip-sync",
        KLING,
        {**SYNC, "video_url": None, "session_id": "s1", "sound_insert_time": 0},
        "face_id",
        "is required with session_id",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**SYNC, "video_url": None, "session_id": "s1", "face_id": "f"},
        "sound_insert_time",
        "is required with session_id",
    ),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_file": None}, "sound_file", "or audio_id (one of them)"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_end_time": "4 s"}, "sound_end_time", "whole milliseconds from 0"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_file": "bad!"}, "sound_file", "an mp3, wav or m4a file of at most"),
    ("advanced-lip-sync", KLING, {**SYNC, "audio_id": "a1"}, "sound_file", "or audio_id (one of them)"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_file": "not base64!"}, "sound_file", "at most 5 MB"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_end_time": None}, "sound_end_time", "is required"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_end_time": 1999}, "sound_end_time", "a clip of 2 to 60 s"),
    (
        "advanced-lip-sync",
        KLING,
        {**SYNC, "sound_start_time": 1000, "sound_end_time": 61001},
        "sound_end_time",
        "a clip of 2 to 60 s",
    ),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_start_time": -1}, "sound_start_time", "whole milliseconds from 0"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_insert_time": 1.5}, "sound_insert_time", "whole milliseconds"),
    ("advanced-lip-sync", KLING, {**SYNC, "sound_volume": 2.5}, "sound_volume", "allowed: 0 to 2"),
    ("advanced-lip-sync", KLING, {**SYNC, "original_audio_volume": True}, "original_audio_volume", "0 to 2"),
    ("advanced-lip-sync", KLING, {**SYNC, "face_id": "a b"}, "face_id", "a face_id that identify-face gave"),
]


@pytest.mark.parametrize(
    ("endpoint", "backend", "fields", "field", "says"),
    BAD_INPUTS,
    ids=[f"{row[0]}-{row[3]}-{index}" for index, row in enumerate(BAD_INPUTS)],
)
def test_bad_inputs_are_refused_before_any_request_naming_the_field_and_what_is_allowed(
    sandbox, endpoint, backend, fields, field, says
):
    if backend is not sandbox.backend:
        with pytest.raises(KlingValidationError) as raised:
            build_request(endpoint_named(endpoint), fields, backend=backend)
    else:
        with pytest.raises(KlingValidationError) as raised:
            KlingHook(retry_delay=0).create_task(endpoint, **fields)
        assert sandbox.requests == []
    assert raised.value.field == field and str(raised.value).startswith(f"Invalid {field}")
    assert says in str(raised.value)


def test_the_capability_map_keeps_each_endpoints_models_in_the_order_messages_list_them():
    assert models_for("text2video") == (
        "kling-v1",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
    )
    assert models_for("omni-video") == ("kling-video-o1", "kling-v3-omni")
    assert models_for("omni-video", "cometapi") == ("kling-video-o1",)
    assert models_for("effects") == ("kling-v1", "kling-v1-5", "kling-v1-6")
    assert [name for name, model in MODELS.items() if model.sound] == ["kling-v2-6", "kling-v3", "kling-v3-omni"]
    assert MODELS["kling-v3-omni"].omni_durations[0] == "3" and MODELS["kling-v3-omni"].omni_durations[-1] == "15"
    assert MODELS["kling-video-o1"].omni_durations[-1] == "10"


def test_an_omni_model_the_backend_does_not_document_is_taken_through_the_connections_extra_models():
    body: dict[str, Any] = build_request(
        endpoint_named("omni-video"),
        {"prompt": "a", "aspect_ratio": "1:1", "model_name": "kling-v3-omni", "duration": 15},
        backend=COMETAPI,
        extra_models=("kling-v3-omni",),
    )
    assert body["model_name"] == "kling-v3-omni" and body["duration"] == "15"
