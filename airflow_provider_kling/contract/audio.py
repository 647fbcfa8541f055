"""Sound's rules (``/v1/audio/...``): audio made for a video (``video-to-audio``) or from a text (``text-to-audio``)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    check_delivery_fields,
    check_flag,
    check_kling_id,
    check_media_url,
    check_text,
    is_number,
    shown,
)
from airflow_provider_kling.exceptions import KlingValidationError

#: The longest sound-effect, music or text-to-audio prompt.
AUDIO_PROMPT_MAX_CHARS = 200

#: Text-to-audio's duration, in seconds with one decimal.
AUDIO_SECONDS_MIN, AUDIO_SECONDS_MAX = 3.0, 10.0


def build_video_to_audio(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a video-to-audio request's fields; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (the same rules on both).
    :param extra_models: unused: the endpoint takes no model.
    """
    sources = [name for name in ("video_id", "video_url") if name in given]
    if len(sources) != 1:
        raise KlingValidationError(
            "video_id", "or video_url (one of them) is required: a video Kling made in the last 30 days, or a URL"
        )
    body: dict[str, Any] = (
        {"video_id": check_kling_id("video_id", given["video_id"], "the id of a video Kling made")}
        if sources == ["video_id"]
        else {"video_url": check_media_url("video_url", given["video_url"])}
    )
    for name in ("sound_effect_prompt", "bgm_prompt"):
        if name in given:
            body[name] = check_text(name, given[name], AUDIO_PROMPT_MAX_CHARS)
    if "asmr_mode" in given:
        body["asmr_mode"] = check_flag("asmr_mode", given["asmr_mode"])
    return {**body, **check_delivery_fields(given)}


def build_text_to_audio(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a text-to-audio request's fields; return its body (``duration`` a number, as Kling's reference sends it).

    :param given: the fields given (none None).
    :param backend: the service the request goes to (the same rules on both).
    :param extra_models: unused: the endpoint takes no model.
    """
    if "prompt" not in given:
        raise KlingValidationError("prompt", f"is required: the sound, 1 to {AUDIO_PROMPT_MAX_CHARS} characters")
    body: dict[str, Any] = {"prompt": check_text("prompt", given["prompt"], AUDIO_PROMPT_MAX_CHARS, required=True)}
    seconds = given.get("duration")
    if isinstance(seconds, str):  # a rendered template
        with contextlib.suppress(ValueError):
            seconds = float(seconds)
    if not is_number(seconds, AUDIO_SECONDS_MIN, AUDIO_SECONDS_MAX, one_decimal=True):
        raise KlingValidationError(
            "duration",
            f"got {shown(given.get('duration'))}; allowed: seconds from {AUDIO_SECONDS_MIN:g} to "
            f"{AUDIO_SECONDS_MAX:g}, at most one decimal",
        )
    body["duration"] = seconds
    return {**body, **check_delivery_fields(given)}
