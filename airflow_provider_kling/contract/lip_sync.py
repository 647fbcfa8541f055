"""Lip-sync's rules (``/v1/videos/lip-sync``): a speaker made to say a text (read by a Kling voice) or an audio."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    check_choice,
    check_delivery_fields,
    check_kling_id,
    check_media_url,
    check_source_video,
    check_text,
    is_number,
    shown,
)
from airflow_provider_kling.contract.sessions import check_session_video
from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
)

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


def _audio_file(value: Any, field: str = "audio_file", kinds: str = "an mp3, wav, m4a or aac file") -> str:
    compact = "".join(value.split()) if isinstance(value, str) else ""
    try:
        size = len(base64.b64decode(compact, validate=True)) if compact else 0
    except (binascii.Error, ValueError):
        size = 0
    if not size or size > AUDIO_MAX_BYTES:
        raise KlingValidationError(field, f"got {shown(value)}; allowed: the Base64 of {kinds} of at most 5 MB")
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
        if not is_number(speed, VOICE_SPEED_MIN, VOICE_SPEED_MAX, one_decimal=True):
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


#: Kling's two-step lip-sync (``identify-face``, then ``advanced-lip-sync``): the sound placed on one face.
#: The shortest and longest sound clip, in milliseconds, and the least overlap of the sound with the face's span.
SOUND_CLIP_MIN_MS, SOUND_CLIP_MAX_MS, FACE_OVERLAP_MIN_MS = 2000, 60000, 2000

#: How much earlier than identify-face's ``end_time`` a face is taken to end ("a millisecond level error").
FACE_END_MARGIN_MS = 100

#: The volumes' range (1: as recorded).
VOLUME_MIN, VOLUME_MAX = 0.0, 2.0

#: The fields that open the session (``identify-face``) rather than go in the task's body.
FACE_SESSION_FIELDS = ("video_id", "video_url")

#: The fields of the one face the sound goes on (``face_choose[0]``).
FACE_FIELDS = (
    "face_id",
    "audio_id",
    "sound_file",
    "sound_start_time",
    "sound_end_time",
    "sound_insert_time",
    "sound_volume",
    "original_audio_volume",
)


def _number(value: Any) -> Any:
    """A number as given, or read from a rendered template's text; anything else as given (refused by the caller)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value) if "." in value else int(value)
    return value


def _milliseconds(given: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = _number(given.get(name, default))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KlingValidationError(name, f"got {shown(given.get(name))}; allowed: whole milliseconds from 0")
    return value


def _sound(given: Mapping[str, Any]) -> dict[str, Any]:
    sources = [name for name in ("sound_file", "audio_id") if name in given]
    if len(sources) != 1:
        raise KlingValidationError(
            "sound_file",
            "or audio_id (one of them) is required: an mp3, wav or m4a URL or its Base64 (at most 5 MB), or the id "
            "of a Kling text-to-speech audio",
        )
    if sources == ["audio_id"]:
        return {"audio_id": check_kling_id("audio_id", given["audio_id"], "the id of a Kling text-to-speech audio")}
    value = given["sound_file"]
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return {"sound_file": check_media_url("sound_file", value)}
    return {"sound_file": _audio_file(value, "sound_file", "an mp3, wav or m4a file")}


def build_advanced_lip_sync(
    given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]
) -> dict[str, Any]:
    """
    Check a two-step lip-sync's fields; return its body, flat (the face's fields go in ``face_choose`` when sent),
    with the fields that open its session if it has none.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (the same rules where it is served).
    :param extra_models: unused: lip-sync takes no model.
    """
    if "session_id" in given:
        for name in FACE_SESSION_FIELDS:
            if name in given:
                raise KlingValidationError(name, "is not used with session_id: the session holds its video")
        for name in ("face_id", "sound_insert_time"):
            if name not in given:
                raise KlingValidationError(name, "is required with session_id (identify-face gave the faces)")
        body: dict[str, Any] = {
            "session_id": check_kling_id("session_id", given["session_id"], "the id identify-face gave")
        }
    else:
        if len([name for name in FACE_SESSION_FIELDS if name in given]) != 1:
            raise KlingValidationError(
                "video_url",
                "or video_id (one of them), or the session_id of identify-face, is required: the video with the face",
            )
        body = check_session_video(backend, given.get("video_id"), given.get("video_url"))
    if "face_id" in given:
        body["face_id"] = check_kling_id("face_id", given["face_id"], "a face_id that identify-face gave")
    body.update(_sound(given))
    start, end = _milliseconds(given, "sound_start_time", 0), _milliseconds(given, "sound_end_time")
    if end is None:
        raise KlingValidationError("sound_end_time", "is required: where the sound to use ends, in ms from its start")
    if not SOUND_CLIP_MIN_MS <= end - (start or 0) <= SOUND_CLIP_MAX_MS:
        raise KlingValidationError(
            "sound_end_time",
            f"got {end} after sound_start_time {start}; allowed: a clip of 2 to 60 s ({SOUND_CLIP_MIN_MS} to "
            f"{SOUND_CLIP_MAX_MS} ms)",
        )
    body.update(sound_start_time=start, sound_end_time=end)
    if "sound_insert_time" in given:
        body["sound_insert_time"] = _milliseconds(given, "sound_insert_time")
    for name in ("sound_volume", "original_audio_volume"):
        if name in given:
            volume = _number(given[name])
            if not is_number(volume, VOLUME_MIN, VOLUME_MAX):
                raise KlingValidationError(name, f"got {shown(given[name])}; allowed: {VOLUME_MIN:g} to {VOLUME_MAX:g}")
            body[name] = volume
    return {**body, **check_delivery_fields(given)}


def _span(face: Any) -> tuple[str, int, int] | None:
    """A face of identify-face's answer as (id, start, end) in ms, or None when the answer's shape is not Kling's."""
    if not isinstance(face, Mapping) or face.get("face_id") in (None, ""):
        return None
    start, end = face.get("start_time", 0), face.get("end_time")
    if not is_number(start) or not is_number(end):
        return None
    return str(face["face_id"]), int(start), int(end)


def fill_face(body: Mapping[str, Any], opened: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return a two-step lip-sync's body with the session and the face the sound goes on: the face given, else the one
    on screen longest; the sound inserted where the face appears unless placed; refused unless they overlap by 2 s.

    :param body: the checked body, without the fields that opened the session.
    :param opened: the answer of ``identify-face``: ``session_id`` and ``face_data``.
    """
    faces = opened.get("face_data")
    spans = {span[0]: span[1:] for span in map(_span, faces if isinstance(faces, list) else ()) if span}
    if isinstance(faces, list) and len(spans) != len(faces):
        raise KlingUnexpectedAnswerError(
            f"identify-face answered faces of a shape Kling does not document: {shown(faces)}"
        )
    if not spans:
        raise KlingInvalidRequestError("The video shows no face identify-face could use for lip-sync: give another one")
    face_id = body.get("face_id") or max(spans, key=lambda face: spans[face][1] - spans[face][0])
    if face_id not in spans:
        raise KlingValidationError("face_id", f"got {face_id!r}; allowed: a face of this video: {', '.join(spans)}")
    first, last = spans[face_id]
    insert = body.get("sound_insert_time", first)
    # Kling's end_time runs a few milliseconds late: the overlap is measured against an end a little earlier.
    overlap = min(last - FACE_END_MARGIN_MS, insert + body["sound_end_time"] - body["sound_start_time"]) - max(
        first, insert
    )
    if overlap < FACE_OVERLAP_MIN_MS:
        raise KlingValidationError(
            "sound_insert_time",
            f"puts the sound {max(overlap, 0) / 1000:g} s over face {face_id} (seen from {first} to {last} ms); "
            "allowed: an overlap of at least 2 s",
        )
    return {**body, "session_id": opened["session_id"], "face_id": face_id, "sound_insert_time": insert}
