"""Lip-sync's rules (``/v1/videos/lip-sync``): a speaker made to say a text (read by a Kling voice) or an audio."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    check_choice,
    check_delivery_fields,
    check_media_url,
    check_source_video,
    check_text,
    shown,
)
from airflow_provider_kling.exceptions import KlingValidationError

#: What the speaker says: a text read by one of Kling's voices, or an audio file.
LIP_SYNC_MODES = ("text2video", "audio2video")

#: The longest text a voice reads.
LIP_SYNC_TEXT_MAX_CHARS = 120

#: The voices' languages. Sent always: the sources disagree on the service's default.
VOICE_LANGUAGES = ("en", "zh")

VOICE_SPEED_MIN, VOICE_SPEED_MAX = 0.8, 2.0

#: The largest audio file sent as Base64, in bytes (Kling's reference: 5 MB).
AUDIO_MAX_BYTES = 5 * 1024 * 1024

#: A voice's id in Kling's voice list, such as ``girlfriend_1_speech02``.
VOICE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

_TEXT_FIELDS, _AUDIO_FIELDS = (
    ("text", "voice_id", "voice_language", "voice_speed"),
    ("audio_type", "audio_file", "audio_url"),
)


def _audio_file(value: Any) -> str:
    compact = "".join(value.split()) if isinstance(value, str) else ""
    try:
        size = len(base64.b64decode(compact, validate=True)) if compact else 0
    except (binascii.Error, ValueError):
        size = 0
    if not size or size > AUDIO_MAX_BYTES:
        raise KlingValidationError(
            "audio_file", f"got {shown(value)}; allowed: the Base64 of an mp3, wav, m4a or aac file of at most 5 MB"
        )
    return compact


def _voice(given: Mapping[str, Any]) -> dict[str, Any]:
    for name in ("text", "voice_id"):
        if name not in given:
            raise KlingValidationError(name, "is required with mode='text2video' (a Kling voice reads the text)")
    voice = {
        "text": check_text("text", given["text"], LIP_SYNC_TEXT_MAX_CHARS, required=True),
        "voice_id": given["voice_id"],
        "voice_language": check_choice("voice_language", given.get("voice_language", "en"), VOICE_LANGUAGES),
    }
    if not isinstance(voice["voice_id"], str) or not VOICE_ID_PATTERN.fullmatch(voice["voice_id"]):
        raise KlingValidationError(
            "voice_id", f"got {shown(voice['voice_id'])}; allowed: an id from Kling's voice list"
        )
    if "voice_speed" in given:
        speed = given["voice_speed"]
        if (
            isinstance(speed, bool)
            or not isinstance(speed, (int, float))
            or not VOICE_SPEED_MIN <= speed <= VOICE_SPEED_MAX
            or round(speed, 1) != speed
        ):
            raise KlingValidationError(
                "voice_speed",
                f"got {shown(speed)}; allowed: a number from {VOICE_SPEED_MIN} to {VOICE_SPEED_MAX}, "
                "at most one decimal",
            )
        voice["voice_speed"] = speed
    return voice


def _audio(given: Mapping[str, Any]) -> dict[str, Any]:
    sources = [name for name in ("audio_url", "audio_file") if name in given]
    if len(sources) != 1:
        raise KlingValidationError(
            "audio_url", "or audio_file (one of them) is required with mode='audio2video': the speech to lip-sync"
        )
    kind = "url" if sources == ["audio_url"] else "file"
    if check_choice("audio_type", given.get("audio_type", kind), ("file", "url")) != kind:
        raise KlingValidationError("audio_type", f"must be {kind!r} with {sources[0]} (or leave it unset)")
    if kind == "url":
        return {"audio_type": kind, "audio_url": check_media_url("audio_url", given["audio_url"])}
    return {"audio_type": kind, "audio_file": _audio_file(given["audio_file"])}


def build_lip_sync(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a lip-sync request's fields; return its body, flat (all but ``callback_url`` go under ``input`` when sent).

    :param given: the fields given (none None).
    :param backend: the service the request goes to (CometAPI needs the parent task of a video Kling made).
    :param extra_models: unused: lip-sync takes no model.
    """
    sources = [name for name in ("video_id", "video_url") if name in given]
    if len(sources) != 1:
        raise KlingValidationError(
            "video_id",
            "or video_url (one of them) is required: a video Kling made in the last 30 days, or an mp4/mov URL",
        )
    if sources == ["video_id"]:
        # Kling's lip-sync schema has no task_id: the parent task goes only to CometAPI, whose page asks for it.
        body: dict[str, Any] = check_source_video(given, backend, parent_everywhere=False)
    else:
        if "parent_task_id" in given:
            raise KlingValidationError("parent_task_id", "is only used with video_id; leave it unset with video_url")
        body = {"video_url": check_media_url("video_url", given["video_url"])}
    if "mode" not in given:
        raise KlingValidationError("mode", f"is required; allowed: {', '.join(LIP_SYNC_MODES)}")
    body["mode"] = check_choice("mode", given["mode"], LIP_SYNC_MODES)
    speaks, unused = (_TEXT_FIELDS, _AUDIO_FIELDS) if body["mode"] == "text2video" else (_AUDIO_FIELDS, _TEXT_FIELDS)
    for name in unused:
        if name in given:
            raise KlingValidationError(name, f"is not used with mode={body['mode']!r}; it takes {', '.join(speaks)}")
    body.update(_voice(given) if body["mode"] == "text2video" else _audio(given))
    return {**body, **check_delivery_fields(given)}
