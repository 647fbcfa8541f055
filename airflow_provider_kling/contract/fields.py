"""The request fields' rules: each field's allowed values, and the checks that name the field, the value and the fix."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sized
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from airflow_provider_kling._constants import EXTERNAL_TASK_ID_MAX_CHARS
from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.models import models_for, models_with
from airflow_provider_kling.exceptions import KlingValidationError

#: Text-to-video's models.
KNOWN_MODELS = models_for("text2video")

#: Text-to-video's models with generated audio: the only ones that take ``sound`` there.
SOUND_MODELS = tuple(name for name in models_with("sound") if name in KNOWN_MODELS)

#: Models whose audio needs ``mode="pro"`` (their ``std`` videos are silent).
SOUND_IN_PRO_ONLY_MODELS = models_with("sound_needs_pro")

#: Models that do not take ``cfg_scale``.
NO_CFG_SCALE_MODELS = models_with("cfg_scale", False)

#: Text-to-video's models that render several shots in one task (``multi_shot``).
MULTI_SHOT_MODELS = tuple(name for name in models_with("multi_shot") if name in KNOWN_MODELS)

MODES = ("std", "pro")

ASPECT_RATIOS = ("16:9", "9:16", "1:1")

DURATIONS = ("5", "10")

LONG_DURATIONS = tuple(str(seconds) for seconds in range(3, 16))

#: The durations one shot of a ``multi_prompt`` may take.
SHOT_DURATIONS = tuple(str(seconds) for seconds in range(1, 16))

SOUNDS = ("on", "off")

SHOT_TYPES = ("customize", "intelligence")

MULTI_PROMPT_MAX_SHOTS = 6

SHOT_PROMPT_MAX_CHARS = 512

CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")

CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

#: Models that animate images (``image2video``), as Kling's image-to-video reference lists them.
IMAGE_MODELS = models_for("image2video")

#: Models that take several images (``multi-image2video``).
MULTI_IMAGE_MODELS = models_for("multi-image2video")

#: The largest image Kling takes, in bytes (its reference: "cannot exceed 10MB").
IMAGE_MAX_BYTES = 10 * 1024 * 1024

MULTI_IMAGE_MIN_IMAGES = 2

MULTI_IMAGE_MAX_IMAGES = 4

#: Image files the provider reads and sends as Base64, by their name's ending.
IMAGE_FILE_SUFFIXES = (".jpg", ".jpeg", ".png")

IMAGES_ALLOWED = "allowed: an http(s) URL, a path or ObjectStoragePath of a .jpg, .jpeg or .png file, or its Base64"

#: A task id as it may be put in a path, a file name or a log: letters, digits, ``_`` and ``-``.
TASK_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def shown(value: Any) -> str:
    text = repr(value)
    if len(text) <= 60:
        return text
    size = (
        f" ({len(value)} chars)"
        if isinstance(value, str)
        else f" ({len(value)} items)"
        if isinstance(value, Sized)
        else ""
    )
    return f"{text[:50]}...{size}"


def check_choice(field: str, value: Any, allowed: Iterable[str]) -> str:
    """Check that ``value`` is one of ``allowed``; return the allowed text it equals (a str enum: its value)."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise KlingValidationError(field, f"got {shown(value)}; allowed: {', '.join(allowed)}")
    return allowed[allowed.index(value)]


def check_text(field: str, value: Any, max_chars: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise KlingValidationError(field, f"must be a string, got {type(value).__name__} {shown(value)}")
    if required and is_blank(value):
        raise KlingValidationError(field, f"must not be empty; allowed: 1 to {max_chars} characters")
    if len(value) > max_chars:
        raise KlingValidationError(field, f"is {len(value)} characters long; allowed: at most {max_chars} characters")
    return value


def is_blank(value: str) -> bool:
    """Whether a text holds nothing but white space and invisible format characters (zero-width spaces...)."""
    return not "".join(char for char in value if unicodedata.category(char) != "Cf").strip()


def check_flag(name: str, value: Any) -> bool:
    """Check an operator argument that is a switch (``True`` or ``False``, not a string); return it."""
    if not isinstance(value, bool):
        raise KlingValidationError(name, f"got {shown(value)}; allowed: True or False")
    return value


def is_number(
    value: Any, low: float | None = None, high: float | None = None, *, one_decimal: bool = False
) -> TypeGuard[int | float]:
    """
    Whether ``value`` is a number (an int or float, not a bool) from ``low`` to ``high`` (each bound where given).

    :param value: the value to look at.
    :param low: the smallest allowed, or None for no bound below.
    :param high: the largest allowed, or None for no bound above.
    :param one_decimal: whether it may have at most one decimal.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if (low is not None and not low <= value) or (high is not None and not value <= high):
        return False
    return not one_decimal or round(value, 1) == value


def check_cfg_scale(value: Any) -> float:
    """Check a ``cfg_scale`` (a number from 0 to 1); return it."""
    if not is_number(value, 0, 1):
        raise KlingValidationError("cfg_scale", f"got {shown(value)}; allowed: a number from 0 to 1")
    return value


def check_camera_control(value: Any) -> dict[str, Any]:
    """Check a ``camera_control`` and return it as sent (every axis of a ``simple`` config spelt out)."""
    field = "camera_control"
    if not isinstance(value, Mapping):
        raise KlingValidationError(
            field, f'must be a dict like {{"type": "simple", "config": {{...}}}}, got {shown(value)}'
        )
    unknown = set(value) - {"type", "config"}
    if unknown:
        raise KlingValidationError(field, f"unknown keys {sorted(unknown)}; allowed keys: type, config")
    camera_type = check_choice(f"{field}.type", value.get("type"), CAMERA_TYPES)
    config = value.get("config")
    if camera_type != "simple":
        if config is not None:
            raise KlingValidationError(f"{field}.config", f"is only allowed with type 'simple', not {camera_type!r}")
        return {"type": camera_type}
    if not isinstance(config, Mapping):
        raise KlingValidationError(
            f"{field}.config", f"is required with type 'simple': a dict with keys {', '.join(CAMERA_AXES)}"
        )
    unknown = set(config) - set(CAMERA_AXES)
    if unknown:
        raise KlingValidationError(
            f"{field}.config", f"unknown keys {sorted(unknown)}; allowed: {', '.join(CAMERA_AXES)}"
        )
    clean: dict[str, float] = {}
    for axis in CAMERA_AXES:
        amount = config.get(axis, 0)
        if not is_number(amount, -10, 10):
            raise KlingValidationError(
                f"{field}.config.{axis}", f"got {shown(amount)}; allowed: a number from -10 to 10"
            )
        clean[axis] = amount
    moving = [axis for axis, amount in clean.items() if amount != 0]
    if len(moving) != 1:
        raise KlingValidationError(
            f"{field}.config",
            f"exactly one of {', '.join(CAMERA_AXES)} must be non-zero, "
            f"got {len(moving)} ({', '.join(moving) or 'none'})",
        )
    return {"type": "simple", "config": clean}


def check_callback_url(value: Any) -> str:
    url = check_text("callback_url", value, 2048, required=True)
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        parts = urlsplit("")
    clean = not any(char.isspace() or unicodedata.category(char) == "Cc" for char in url)
    if clean and parts.scheme == "https" and parts.hostname:
        return url
    if clean and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise KlingValidationError(
        "callback_url",
        f"got {shown(url)}; allowed: an https:// URL (http:// only for localhost), no spaces, a port up to 65535",
    )


def check_watermark_info(value: Any) -> dict[str, bool]:
    """Check a ``watermark_info`` (``{"enabled": True}`` or ``{"enabled": False}``); return it."""
    if not isinstance(value, Mapping) or set(value) != {"enabled"} or not isinstance(value["enabled"], bool):
        raise KlingValidationError(
            "watermark_info",
            f'got {shown(value)}; allowed: {{"enabled": True}} or {{"enabled": False}} (no custom watermark)',
        )
    return {"enabled": value["enabled"]}


def check_delivery_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """
    Check the fields every endpoint that takes them means the same by (``callback_url``, ``external_task_id``,
    ``watermark_info``), each where given; return them as sent.

    :param given: the request's fields (others are left alone).
    """
    body: dict[str, Any] = {}
    if "callback_url" in given:
        body["callback_url"] = check_callback_url(given["callback_url"])
    if "external_task_id" in given:
        body["external_task_id"] = check_text(
            "external_task_id", given["external_task_id"], EXTERNAL_TASK_ID_MAX_CHARS, required=True
        )
    if "watermark_info" in given:
        body["watermark_info"] = check_watermark_info(given["watermark_info"])
    return body


def check_extra_fields(value: Any, known_fields: Iterable[str]) -> dict[str, Any]:
    """
    Check ``extra_fields``: request fields the provider does not know yet, sent as given; return them.

    :param value: the fields by name.
    :param known_fields: the endpoint's own fields (by argument and wire name), which have their own argument
        and are refused here, as is ``external_task_id``, which the provider manages on every endpoint.
    """
    field = "extra_fields"
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(name, str) and name for name in value):
        raise KlingValidationError(field, f"got {shown(value)}; allowed: a dict of field names to JSON values")
    known = sorted(set(value) & {*known_fields, "external_task_id"})
    if known:
        raise KlingValidationError(
            field, f"holds {', '.join(known)}; allowed: only fields without their own argument (set these there)"
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise KlingValidationError(field, f"got {shown(value)} ({error}); allowed: JSON values") from None
    return dict(value)


def check_duration(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    """A duration as it goes on the wire (a string of whole seconds), checked against ``allowed``."""
    wire = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return check_choice(field, wire, allowed)


def check_multi_prompt(value: Any) -> list[dict[str, Any]]:
    """
    Check a ``multi_prompt`` (1 to 6 shots, each ``{"prompt": text, "duration": seconds}``); return it as sent.

    Shots are numbered from 1 in the order given (an ``index``, if given, must say the same); each
    shot's prompt is at most 512 characters, its duration whole seconds from 1 to 15.
    """
    field = "multi_prompt"
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MULTI_PROMPT_MAX_SHOTS:
        raise KlingValidationError(
            field,
            f'got {shown(value)}; allowed: a list of 1 to {MULTI_PROMPT_MAX_SHOTS} shots like {{"prompt": "...", '
            '"duration": 5}}',
        )
    shots = []
    for index, shot in enumerate(value, start=1):
        name = f"{field}[{index - 1}]"
        if not isinstance(shot, Mapping) or not {"prompt", "duration"} <= set(shot) <= {"index", "prompt", "duration"}:
            raise KlingValidationError(
                name, f"got {shown(shot)}; allowed: a dict with keys prompt and duration (and index)"
            )
        if shot.get("index", index) != index:
            raise KlingValidationError(
                f"{name}.index", f"got {shown(shot['index'])}; allowed: {index} (shots are numbered from 1, in order)"
            )
        prompt = check_text(f"{name}.prompt", shot["prompt"], SHOT_PROMPT_MAX_CHARS, required=True)
        seconds = check_duration(f"{name}.duration", shot["duration"], SHOT_DURATIONS)
        shots.append({"index": index, "prompt": prompt, "duration": seconds})
    return shots


def check_shots(
    given: Mapping[str, Any], model: str | None, known_model: bool, shot_models: tuple[str, ...] = MULTI_SHOT_MODELS
) -> dict[str, Any]:
    """
    Check the multi-shot fields of a request together (which ones a request needs follows from the others).

    :param given: the request's fields.
    :param model: its ``model_name``, or None.
    :param known_model: whether the capability map knows that model (one of ``extra_models`` is not judged).
    :param shot_models: the endpoint's models that render several shots.
    """
    multi_shot = given.get("multi_shot")
    if multi_shot is not None:
        check_flag("multi_shot", multi_shot)
    if not multi_shot:
        for name in ("shot_type", "multi_prompt"):
            if name in given:
                raise KlingValidationError(name, "is only used with multi_shot=True; set multi_shot or leave it unset")
        return {} if multi_shot is None else {"multi_shot": False}
    if model is None or (known_model and model not in shot_models):
        raise KlingValidationError(
            "multi_shot",
            f"is not supported by {model or 'the default model'}; models with several shots: "
            f"{', '.join(shot_models)} (set model_name)",
        )
    if "shot_type" not in given:
        raise KlingValidationError("shot_type", f"is required with multi_shot=True; allowed: {', '.join(SHOT_TYPES)}")
    shots: dict[str, Any] = {"multi_shot": True, "shot_type": check_choice("shot_type", given["shot_type"], SHOT_TYPES)}
    if shots["shot_type"] == "intelligence":
        if "multi_prompt" in given:
            raise KlingValidationError(
                "multi_prompt", "is only used with shot_type='customize' (Kling plans the shots)"
            )
        return shots
    if "multi_prompt" not in given:
        raise KlingValidationError("multi_prompt", "is required with shot_type='customize': 1 to 6 shots")
    if "prompt" in given:
        raise KlingValidationError(
            "prompt", "is not used with shot_type='customize': each shot's prompt is in multi_prompt"
        )
    return {**shots, "multi_prompt": check_multi_prompt(given["multi_prompt"])}


def check_shots_duration(body: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    """
    The duration of a request with ``multi_prompt``: the sum of its shots', which a given ``duration`` must equal.

    :param body: the request body so far (its ``multi_prompt`` checked, its ``duration`` if given).
    :param allowed: the durations the request's model takes.
    """
    total = str(sum(int(shot["duration"]) for shot in body["multi_prompt"]))
    if body.get("duration", total) != total:
        raise KlingValidationError(
            "duration", f"is {body['duration']} s, but the shots in multi_prompt last {total} s: they must match"
        )
    return check_duration("duration", total, allowed)


def check_media_url(field: str, value: Any) -> str:
    """Check the URL of a video or an audio file that Kling fetches: http(s), no spaces; return it."""
    url = check_text(field, value, 2048, required=True)
    if not url.startswith(("https://", "http://")) or any(char.isspace() for char in url):
        raise KlingValidationError(field, f"got {shown(url)}; allowed: an http(s) URL Kling can fetch, no spaces")
    return url


def check_model(given: Mapping[str, Any], known: tuple[str, ...], extra_models: Iterable[str]) -> str | None:
    """Check a ``model_name`` against the known models and the connection's ``extra_models``; return it, or None."""
    model = given.get("model_name")
    if model is None:
        return None
    allowed = (*known, *extra_models)
    if model not in allowed:
        raise KlingValidationError(
            "model_name",
            f"got {shown(model)}; allowed: {', '.join(allowed)} (a newer model: add its name to the connection's "
            "extra_models)",
        )
    return str(model)


def is_jpeg_or_png(data: bytes) -> bool:
    """Whether an image's bytes start as a JPEG's or a PNG's do (the formats Kling takes)."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def check_image_bytes(field: str, data: bytes) -> bytes:
    """Check an image's bytes (a JPEG or PNG of at most 10 MiB) before they are sent; return them."""
    if len(data) > IMAGE_MAX_BYTES:
        raise KlingValidationError(field, f"is larger than 10 MiB; allowed: at most {IMAGE_MAX_BYTES} bytes")
    if not is_jpeg_or_png(data):
        raise KlingValidationError(field, f"is not a JPEG or PNG image; {IMAGES_ALLOWED}")
    return data


def is_file_reference(value: Any) -> bool:
    """
    Whether an image argument names a file for the hook to read: a path, a storage URL (``s3://``...) or an
    ``ObjectStoragePath`` whose name ends in .jpg, .jpeg or .png. Never an http(s) URL, never Base64 text.
    """
    if not isinstance(value, str) and not (isinstance(value, os.PathLike) or hasattr(value, "open")):
        return False
    text = str(value)
    if text.startswith(("https://", "http://")) or not text.lower().endswith(IMAGE_FILE_SUFFIXES):
        return False
    # Base64 has no "." nor ":", so neither a scheme nor a suffix is ever Base64 text.
    return "://" in text or text.startswith("/")


def check_image(field: str, value: Any) -> str:
    """
    Check an image as it is sent: an http(s) URL, or the Base64 of a JPEG or PNG without a ``data:`` prefix;
    return it as sent (Base64 without line breaks).
    """
    if not isinstance(value, str) or is_blank(value):
        raise KlingValidationError(field, f"got {shown(value)}; {IMAGES_ALLOWED}")
    if value.startswith(("https://", "http://")):
        return check_text(field, value, 2048)
    if value.startswith("data:"):
        raise KlingValidationError(field, "starts with a data: prefix; allowed: the Base64 text alone (Kling's rule)")
    compact = "".join(value.split())  # base64(1) wraps its output every 76 characters
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KlingValidationError(field, f"got {shown(value)}, neither a URL nor Base64; {IMAGES_ALLOWED}") from None
    check_image_bytes(field, data)
    return compact


def check_image_list(value: Any) -> list[dict[str, str]]:
    """Check a multi-image ``image_list`` (2 to 4 images, each an image or ``{"image": ...}``); return it as sent."""
    field = "image_list"
    if not isinstance(value, (list, tuple)) or not MULTI_IMAGE_MIN_IMAGES <= len(value) <= MULTI_IMAGE_MAX_IMAGES:
        raise KlingValidationError(
            field,
            f"got {shown(value)}; allowed: a list of {MULTI_IMAGE_MIN_IMAGES} to {MULTI_IMAGE_MAX_IMAGES} images "
            "(URLs, paths or Base64)",
        )
    return [{"image": check_image(f"{field}[{index}]", listed_image(item))} for index, item in enumerate(value)]


def listed_image(item: Any) -> Any:
    """An ``image_list`` item's image: the item itself, or its ``image`` key when it is ``{"image": ...}``."""
    return item["image"] if isinstance(item, Mapping) and set(item) == {"image"} else item


def check_kling_id(field: str, value: Any, what: str) -> str:
    """Check an id that Kling gave (a task's, a video's): letters, digits, '-' and '_'; return it."""
    if not isinstance(value, str) or not TASK_ID_PATTERN.fullmatch(value):
        raise KlingValidationError(field, f"got {shown(value)}; allowed: {what}: letters, digits, '-' and '_'")
    return value


def check_video_id(value: Any) -> str:
    """Check a ``video_id`` to extend (a video Kling made: ``task_result.videos[].id``); return it."""
    return check_kling_id("video_id", value, "the id of a video Kling made (task_result.videos[].id)")


def check_source_video(given: Mapping[str, Any], backend: Backend, *, parent_everywhere: bool = True) -> dict[str, str]:
    """
    Check the ``video_id`` of a video Kling made and its ``parent_task_id`` (sent as ``task_id``), which a backend
    whose relay runs such a task on the account that made the video requires; return them as sent.

    :param given: the request's fields (``video_id`` among them).
    :param backend: the service the request goes to.
    :param parent_everywhere: whether the endpoint's own reference takes ``task_id`` too (else it is sent only
        where the backend needs it).
    """
    body = {"video_id": check_video_id(given["video_id"])}
    if "parent_task_id" in given:
        task_id = check_kling_id("parent_task_id", given["parent_task_id"], "the Kling task_id that made the video")
        if parent_everywhere or backend.extension_needs_parent_task:
            body["task_id"] = task_id
    elif backend.extension_needs_parent_task:
        raise KlingValidationError(
            "parent_task_id", f"is required on the {backend.name} backend: the Kling task_id that made the video"
        )
    return body
