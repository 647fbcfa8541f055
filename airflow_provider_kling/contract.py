"""The Kling video-task contract in one place: endpoints, request fields, their validation, and answer parsing.

Used by :class:`~airflow_provider_kling.hooks.kling.KlingHook` (sync and async), the operator (to
fail before anything is sent) and the sandbox server (to reject what the real service rejects).
No I/O here: every function takes and returns plain data.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingConfigurationError,
    KlingContentPolicyError,
    KlingError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
)


@dataclass(frozen=True)
class Backend:
    """
    What differs between the services the provider talks to, as data: the rest of the code asks this.

    :param name: the connection's ``backend`` extra that selects it.
    :param default_base_url: the base URL when the connection has no host.
    :param path_prefix: what comes before ``/v1/...`` in every API path.
    :param auth: ``bearer`` (the key as a Bearer token) or ``jwt`` (a short-lived HS256 token signed
        with the secret key, the access key as its issuer).
    :param lookup_by_external_task_id: whether ``GET <route>/<external_task_id>`` answers the task
        submitted with that id; where it does not, a submission whose answer was lost cannot be found.
    :param list_route: whether ``GET <route>?pageNum=&pageSize=`` lists the account's tasks.
    :param prompt_max_chars: the longest ``prompt`` the backend takes.
    :param negative_prompt_max_chars: the longest ``negative_prompt`` the backend takes.
    :param long_duration_models: the models that take any whole ``duration`` from 3 to 15 s here.
    :param documents_multi_shot: whether the backend's own reference documents ``multi_shot`` and
        its fields (a relay that does not may drop them, and render one shot).
    :param image2video_needs_image: whether an image-to-video request must carry ``image`` (a relay that
        routes a request without it to text-to-video would render a video that ignores ``image_tail``).
    :param extension_needs_parent_task: whether a video extension must name its parent task (``task_id``),
        so that a relay sends it to the upstream account that made the video.
    """

    name: str
    default_base_url: str
    path_prefix: str
    auth: str
    lookup_by_external_task_id: bool
    list_route: bool
    prompt_max_chars: int
    negative_prompt_max_chars: int
    long_duration_models: tuple[str, ...]
    documents_multi_shot: bool
    image2video_needs_image: bool = False
    extension_needs_parent_task: bool = False

    def path(self, route: str) -> str:
        """The path of ``route`` (an :class:`Endpoint`'s, such as ``/v1/videos/text2video``) on this backend."""
        return f"{self.path_prefix}{route}"


#: CometAPI's gateway (a relay in front of Kling): lookups by ``task_id`` only, no list route; its page documents
#: prompts of 500 and negative prompts of 200 characters, and durations of 5 or 10 s for every model; an
#: extension names its parent task; a request without ``image`` is routed to text-to-video by the relay it runs.
COMETAPI = Backend(
    "cometapi",
    "https://api.cometapi.com",
    "/kling",
    "bearer",
    False,
    False,
    500,
    200,
    (),
    False,
    image2video_needs_image=True,
    extension_needs_parent_task=True,
)
#: Kling's own API: JWT auth, lookups by ``task_id`` or ``external_task_id``, a list route, prompts of 2,500
#: characters, and 3 to 15 s for kling-v3.
KLING = Backend("kling", "https://api-singapore.klingai.com", "", "jwt", True, True, 2500, 2500, ("kling-v3",), True)
BACKENDS = {backend.name: backend for backend in (COMETAPI, KLING)}
DEFAULT_BACKEND = COMETAPI

#: What to do when a submission's outcome is unknown (its answer was lost) and the backend cannot be
#: asked whether it created the task: send it again with the same ``external_task_id``, or fail.
UNKNOWN_SUBMISSION_POLICIES = ("resubmit", "fail")

KNOWN_MODELS = (
    "kling-v1",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
)
#: Models with generated audio: the only ones that take ``sound``.
SOUND_MODELS = ("kling-v2-6", "kling-v3")
#: Models whose audio needs ``mode="pro"`` (their ``std`` videos are silent).
SOUND_IN_PRO_ONLY_MODELS = ("kling-v2-6",)
#: Models that do not take ``cfg_scale``.
NO_CFG_SCALE_MODELS = ("kling-v2-master", "kling-v2-1", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6")
#: Models that render several shots in one task (``multi_shot``).
MULTI_SHOT_MODELS = ("kling-v3",)
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
EXTERNAL_TASK_ID_MAX_CHARS = 128
#: The longest wait or interval an operator argument may ask for: 30 days.
MAX_SECONDS = 30 * 86400

#: Models that animate images (``image2video``), as Kling's image-to-video reference lists them.
IMAGE_MODELS = (
    "kling-v1",
    "kling-v1-5",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
)
#: Models that take several images (``multi-image2video``).
MULTI_IMAGE_MODELS = ("kling-v1-6",)
#: The largest image Kling takes, in bytes (its reference: "cannot exceed 10MB").
IMAGE_MAX_BYTES = 10 * 1024 * 1024
MULTI_IMAGE_MIN_IMAGES = 2
MULTI_IMAGE_MAX_IMAGES = 4
#: The longest text a logged request body shows whole (prompts fit; Base64 images do not).
LOGGED_TEXT_MAX_CHARS = 4096
#: Image files the provider reads and sends as Base64, by their name's ending.
IMAGE_FILE_SUFFIXES = (".jpg", ".jpeg", ".png")
_IMAGES_ALLOWED = "allowed: an http(s) URL, a path or ObjectStoragePath of a .jpg, .jpeg or .png file, or its Base64"

#: The request fields of ``POST /kling/v1/videos/text2video``, in the contract's order.
REQUEST_FIELDS = (
    "prompt",
    "negative_prompt",
    "model_name",
    "cfg_scale",
    "mode",
    "aspect_ratio",
    "duration",
    "sound",
    "camera_control",
    "callback_url",
    "external_task_id",
    "multi_shot",
    "shot_type",
    "multi_prompt",
    "watermark_info",
)


class TaskStatus(str, Enum):
    """A Kling task's status, a closed set: an answer with any other status is unexpected, never "ended"."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        """Whether the task may still change."""
        return self in (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)


ACTIVE_STATUSES = (TaskStatus.SUBMITTED.value, TaskStatus.PROCESSING.value)
SUCCEEDED = TaskStatus.SUCCEED.value
FAILED = TaskStatus.FAILED.value

#: The relay's own task statuses (CometAPI's second envelope), as Kling's.
_RELAY_STATUSES = {
    "NOT_START": TaskStatus.SUBMITTED,
    "SUBMITTED": TaskStatus.SUBMITTED,
    "QUEUED": TaskStatus.SUBMITTED,
    "IN_PROGRESS": TaskStatus.PROCESSING,
    "SUCCESS": TaskStatus.SUCCEED,
    "FAILURE": TaskStatus.FAILED,
}
#: A task id as it may be put in a path, a file name or a log: letters, digits, ``_`` and ``-``.
TASK_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _shown(value: Any) -> str:
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
        raise KlingValidationError(field, f"got {_shown(value)}; allowed: {', '.join(allowed)}")
    return allowed[allowed.index(value)]


def _text(field: str, value: Any, max_chars: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise KlingValidationError(field, f"must be a string, got {type(value).__name__} {_shown(value)}")
    if required and _is_blank(value):
        raise KlingValidationError(field, f"must not be empty; allowed: 1 to {max_chars} characters")
    if len(value) > max_chars:
        raise KlingValidationError(field, f"is {len(value)} characters long; allowed: at most {max_chars} characters")
    return value


def _is_blank(value: str) -> bool:
    """Whether a text holds nothing but white space and invisible format characters (zero-width spaces...)."""
    return not "".join(char for char in value if unicodedata.category(char) != "Cf").strip()


def check_cfg_scale(value: Any) -> float:
    """Check a ``cfg_scale`` (a number from 0 to 1); return it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise KlingValidationError("cfg_scale", f"got {_shown(value)}; allowed: a number from 0 to 1")
    return value


def check_camera_control(value: Any) -> dict[str, Any]:
    """Check a ``camera_control`` and return it as sent (every axis of a ``simple`` config spelt out)."""
    field = "camera_control"
    if not isinstance(value, Mapping):
        raise KlingValidationError(
            field, f'must be a dict like {{"type": "simple", "config": {{...}}}}, got {_shown(value)}'
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
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not -10 <= amount <= 10:
            raise KlingValidationError(
                f"{field}.config.{axis}", f"got {_shown(amount)}; allowed: a number from -10 to 10"
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


def _callback_url(value: Any) -> str:
    url = _text("callback_url", value, 2048, required=True)
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
        f"got {_shown(url)}; allowed: an https:// URL (http:// only for localhost), no spaces, a port up to 65535",
    )


def split_request_fields(
    body: Mapping[str, Any], endpoint: Endpoint | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    A request body's fields that the contract knows, by their argument names, and the others.

    :param body: a request body as sent (fields by their names on the wire).
    :param endpoint: the endpoint it was sent to (default: text-to-video).
    """
    endpoint = endpoint or TEXT2VIDEO
    on_the_wire = {dict(endpoint.renamed).get(name, name): name for name in endpoint.fields}
    known = {on_the_wire[name]: value for name, value in body.items() if name in on_the_wire}
    return known, {name: value for name, value in body.items() if name not in on_the_wire}


def check_watermark_info(value: Any) -> dict[str, bool]:
    """Check a ``watermark_info`` (``{"enabled": True}`` or ``{"enabled": False}``); return it."""
    if not isinstance(value, Mapping) or set(value) != {"enabled"} or not isinstance(value["enabled"], bool):
        raise KlingValidationError(
            "watermark_info",
            f'got {_shown(value)}; allowed: {{"enabled": True}} or {{"enabled": False}} (no custom watermark)',
        )
    return {"enabled": value["enabled"]}


def check_extra_fields(value: Any, known_fields: Iterable[str] = REQUEST_FIELDS) -> dict[str, Any]:
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
        raise KlingValidationError(field, f"got {_shown(value)}; allowed: a dict of field names to JSON values")
    known = sorted(set(value) & {*known_fields, "external_task_id"})
    if known:
        raise KlingValidationError(
            field, f"holds {', '.join(known)}; allowed: only fields without their own argument (set these there)"
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise KlingValidationError(field, f"got {_shown(value)} ({error}); allowed: JSON values") from None
    return dict(value)


def _seconds_text(field: str, value: Any, allowed: tuple[str, ...]) -> str:
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
            f'got {_shown(value)}; allowed: a list of 1 to {MULTI_PROMPT_MAX_SHOTS} shots like {{"prompt": "...", '
            '"duration": 5}}',
        )
    shots = []
    for index, shot in enumerate(value, start=1):
        name = f"{field}[{index - 1}]"
        if not isinstance(shot, Mapping) or not {"prompt", "duration"} <= set(shot) <= {"index", "prompt", "duration"}:
            raise KlingValidationError(
                name, f"got {_shown(shot)}; allowed: a dict with keys prompt and duration (and index)"
            )
        if shot.get("index", index) != index:
            raise KlingValidationError(
                f"{name}.index", f"got {_shown(shot['index'])}; allowed: {index} (shots are numbered from 1, in order)"
            )
        prompt = _text(f"{name}.prompt", shot["prompt"], SHOT_PROMPT_MAX_CHARS, required=True)
        seconds = _seconds_text(f"{name}.duration", shot["duration"], SHOT_DURATIONS)
        shots.append({"index": index, "prompt": prompt, "duration": seconds})
    return shots


def _shots(given: Mapping[str, Any], model: str | None, known_model: bool) -> dict[str, Any]:
    """The multi-shot fields of a request, checked together: which ones a request needs follows from the others."""
    multi_shot = given.get("multi_shot")
    if multi_shot is not None:
        check_flag("multi_shot", multi_shot)
    if not multi_shot:
        for name in ("shot_type", "multi_prompt"):
            if name in given:
                raise KlingValidationError(name, "is only used with multi_shot=True; set multi_shot or leave it unset")
        return {} if multi_shot is None else {"multi_shot": False}
    if model is None or (known_model and model not in MULTI_SHOT_MODELS):
        raise KlingValidationError(
            "multi_shot",
            f"is not supported by {model or 'the default model'}; models with several shots: "
            f"{', '.join(MULTI_SHOT_MODELS)} (set model_name)",
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


def _model(given: Mapping[str, Any], known: tuple[str, ...], extra_models: Iterable[str]) -> str | None:
    model = given.get("model_name")
    return None if model is None else check_choice("model_name", model, (*known, *extra_models))


def _prompt(given: Mapping[str, Any], backend: Backend, *, required: bool) -> dict[str, str]:
    if "prompt" not in given:
        if required:
            raise KlingValidationError("prompt", f"is required: 1 to {backend.prompt_max_chars} characters")
        return {}
    return {"prompt": _text("prompt", given["prompt"], backend.prompt_max_chars, required=True)}


def _long_durations(backend: Backend, model: str | None) -> tuple[str, ...]:
    """Text-to-video's durations: 3 to 15 s for the backend's long-duration models (no source says so elsewhere)."""
    return LONG_DURATIONS if model in backend.long_duration_models else DURATIONS


def _shared_fields(
    given: Mapping[str, Any], backend: Backend, model: str | None, durations: tuple[str, ...] = DURATIONS
) -> dict[str, Any]:
    """The fields that mean the same on every endpoint that takes them, each checked where given."""
    body: dict[str, Any] = {}
    if "negative_prompt" in given:
        body["negative_prompt"] = _text("negative_prompt", given["negative_prompt"], backend.negative_prompt_max_chars)
    if "cfg_scale" in given:
        scale = check_cfg_scale(given["cfg_scale"])
        if model in NO_CFG_SCALE_MODELS:
            raise KlingValidationError("cfg_scale", f"is not supported by {model}; leave it unset for this model")
        body["cfg_scale"] = scale
    if "mode" in given:
        body["mode"] = check_choice("mode", given["mode"], MODES)
    if "aspect_ratio" in given:
        body["aspect_ratio"] = check_choice("aspect_ratio", given["aspect_ratio"], ASPECT_RATIOS)
    if "duration" in given:
        body["duration"] = _seconds_text("duration", given["duration"], durations)
    if "camera_control" in given:
        body["camera_control"] = check_camera_control(given["camera_control"])
    if "callback_url" in given:
        body["callback_url"] = _callback_url(given["callback_url"])
    if "external_task_id" in given:
        body["external_task_id"] = _text(
            "external_task_id", given["external_task_id"], EXTERNAL_TASK_ID_MAX_CHARS, required=True
        )
    if "watermark_info" in given:
        body["watermark_info"] = check_watermark_info(given["watermark_info"])
    return body


def _text2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    model = _model(given, KNOWN_MODELS, extra_models)
    known_model = model in KNOWN_MODELS
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    body.update(_shots(given, model, known_model))
    if "multi_prompt" not in body:
        body.update(_prompt(given, backend, required=True))
    body.update(_shared_fields(given, backend, model, _long_durations(backend, model)))
    if "multi_prompt" in body:
        total = str(sum(int(shot["duration"]) for shot in body["multi_prompt"]))
        if body.get("duration", total) != total:
            raise KlingValidationError(
                "duration", f"is {body['duration']} s, but the shots in multi_prompt last {total} s: they must match"
            )
        body["duration"] = _seconds_text("duration", total, _long_durations(backend, model))
    if "sound" in given:
        body["sound"] = check_choice("sound", given["sound"], SOUNDS)
        if known_model and model not in SOUND_MODELS:
            raise KlingValidationError(
                "sound", f"is not supported by {model}; models with generated audio: {', '.join(SOUND_MODELS)}"
            )
        if body["sound"] == "on" and model in SOUND_IN_PRO_ONLY_MODELS and body.get("mode") != "pro":
            raise KlingValidationError("sound", f"'on' needs mode='pro' with {model} (its std videos are silent)")
    return body


def is_jpeg_or_png(data: bytes) -> bool:
    """Whether an image's bytes start as a JPEG's or a PNG's do (the formats Kling takes)."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def check_image_bytes(field: str, data: bytes) -> bytes:
    """Check an image's bytes (a JPEG or PNG of at most 10 MiB) before they are sent; return them."""
    if len(data) > IMAGE_MAX_BYTES:
        raise KlingValidationError(field, f"is larger than 10 MiB; allowed: at most {IMAGE_MAX_BYTES} bytes")
    if not is_jpeg_or_png(data):
        raise KlingValidationError(field, f"is not a JPEG or PNG image; {_IMAGES_ALLOWED}")
    return data


def names_a_file(value: Any) -> bool:
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
    if not isinstance(value, str) or _is_blank(value):
        raise KlingValidationError(field, f"got {_shown(value)}; {_IMAGES_ALLOWED}")
    if value.startswith(("https://", "http://")):
        return _text(field, value, 2048)
    if value.startswith("data:"):
        raise KlingValidationError(field, "starts with a data: prefix; allowed: the Base64 text alone (Kling's rule)")
    compact = "".join(value.split())  # base64(1) wraps its output every 76 characters
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KlingValidationError(field, f"got {_shown(value)}, neither a URL nor Base64; {_IMAGES_ALLOWED}") from None
    check_image_bytes(field, data)
    return compact


def check_image_list(value: Any) -> list[dict[str, str]]:
    """Check a multi-image ``image_list`` (2 to 4 images, each an image or ``{"image": ...}``); return it as sent."""
    field = "image_list"
    if not isinstance(value, (list, tuple)) or not MULTI_IMAGE_MIN_IMAGES <= len(value) <= MULTI_IMAGE_MAX_IMAGES:
        raise KlingValidationError(
            field,
            f"got {_shown(value)}; allowed: a list of {MULTI_IMAGE_MIN_IMAGES} to {MULTI_IMAGE_MAX_IMAGES} images "
            "(URLs, paths or Base64)",
        )
    return [{"image": check_image(f"{field}[{index}]", listed_image(item))} for index, item in enumerate(value)]


def listed_image(item: Any) -> Any:
    """An ``image_list`` item's image: the item itself, or its ``image`` key when it is ``{"image": ...}``."""
    return item["image"] if isinstance(item, Mapping) and set(item) == {"image"} else item


def _image2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    model = _model(given, IMAGE_MODELS, extra_models)
    images = {name: check_image(name, given[name]) for name in ("image", "image_tail") if name in given}
    if not images:
        raise KlingValidationError("image", f"is required (or image_tail, or both); {_IMAGES_ALLOWED}")
    if "image" not in images and backend.image2video_needs_image:
        raise KlingValidationError(
            "image",
            f"is required on the {backend.name} backend, whose relay takes a request without it for text-to-video",
        )
    if "image_tail" in images and "camera_control" in given:
        raise KlingValidationError("camera_control", "cannot be used with image_tail (Kling takes one or the other)")
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    return {**body, **images, **_prompt(given, backend, required=False), **_shared_fields(given, backend, model)}


def _multi_image2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    model = _model(given, MULTI_IMAGE_MODELS, extra_models)
    if "image_list" not in given:
        raise KlingValidationError(
            "image_list", f"is required: {MULTI_IMAGE_MIN_IMAGES} to {MULTI_IMAGE_MAX_IMAGES} images"
        )
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    body["image_list"] = check_image_list(given["image_list"])
    return {**body, **_prompt(given, backend, required=True), **_shared_fields(given, backend, model)}


def _kling_id(field: str, value: Any, what: str) -> str:
    """Check an id that Kling gave (a task's, a video's): letters, digits, '-' and '_'; return it."""
    if not isinstance(value, str) or not TASK_ID_PATTERN.fullmatch(value):
        raise KlingValidationError(field, f"got {_shown(value)}; allowed: {what}: letters, digits, '-' and '_'")
    return value


def check_video_id(value: Any) -> str:
    """Check a ``video_id`` to extend (a video Kling made: ``task_result.videos[].id``); return it."""
    return _kling_id("video_id", value, "the id of a video Kling made (task_result.videos[].id)")


def _video_extend(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    if "video_id" not in given:
        raise KlingValidationError("video_id", "is required: the id of a video Kling made (task_result.videos[].id)")
    body = {"video_id": check_video_id(given["video_id"])}
    if "parent_task_id" in given:
        body["task_id"] = _kling_id("parent_task_id", given["parent_task_id"], "the Kling task_id that made the video")
    elif backend.extension_needs_parent_task:
        raise KlingValidationError(
            "parent_task_id", f"is required on the {backend.name} backend: the Kling task_id that made the video"
        )
    return {**body, **_prompt(given, backend, required=False), **_shared_fields(given, backend, None)}


@dataclass(frozen=True)
class Endpoint:
    """
    One kind of Kling video task, as data: the hook, the operators, the trigger and the sandbox ask this.

    :param name: the last part of its route (``/v1/videos/<name>``), which is also how it is named in
        arguments (``endpoint="image2video"``).
    :param title: how messages name it.
    :param fields: the request fields it takes, in the contract's order (others go in ``extra_fields``).
    :param build: checks the given fields (those not None) for a backend and extra models; returns the body.
    :param takes_external_task_id: whether its reference documents ``external_task_id`` (so a task
        can be found by it, where the backend looks tasks up that way).
    :param renamed: (argument name, name on the wire) of fields whose argument cannot take the wire's name
        (``task_id`` is every Airflow task's own).
    """

    name: str
    title: str
    fields: tuple[str, ...]
    build: Callable[[Mapping[str, Any], Backend, tuple[str, ...]], dict[str, Any]]
    takes_external_task_id: bool = True
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def route(self) -> str:
        """Its route below a backend's path prefix; a task is queried at ``<route>/<task_id>``."""
        return f"/v1/videos/{self.name}"


TEXT2VIDEO = Endpoint("text2video", "text-to-video", REQUEST_FIELDS, _text2video)
IMAGE2VIDEO = Endpoint(
    "image2video",
    "image-to-video",
    (
        "image",
        "image_tail",
        "prompt",
        "negative_prompt",
        "model_name",
        "cfg_scale",
        "mode",
        "duration",
        "camera_control",
        "callback_url",
        "external_task_id",
    ),
    _image2video,
)
MULTI_IMAGE2VIDEO = Endpoint(
    "multi-image2video",
    "multi-image-to-video",
    (
        "image_list",
        "prompt",
        "negative_prompt",
        "model_name",
        "cfg_scale",
        "mode",
        "duration",
        "aspect_ratio",
        "callback_url",
        "external_task_id",
    ),
    _multi_image2video,
)
#: Its reference documents no ``external_task_id``: a lost answer cannot be looked up by one on any backend.
VIDEO_EXTEND = Endpoint(
    "video-extend",
    "video extension",
    ("video_id", "parent_task_id", "prompt", "negative_prompt", "cfg_scale", "callback_url"),
    _video_extend,
    takes_external_task_id=False,
    renamed=(("parent_task_id", "task_id"),),
)
ENDPOINTS = {endpoint.name: endpoint for endpoint in (TEXT2VIDEO, IMAGE2VIDEO, MULTI_IMAGE2VIDEO, VIDEO_EXTEND)}


def endpoint_named(name: Any) -> Endpoint:
    """The endpoint called ``name`` (``text2video``, ``image2video``, ``multi-image2video``, ``video-extend``)."""
    return ENDPOINTS[check_choice("endpoint", name, ENDPOINTS)]


def build_request(
    endpoint: Endpoint,
    fields: Mapping[str, Any],
    *,
    backend: Backend = DEFAULT_BACKEND,
    extra_models: Iterable[str] = (),
    extra_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    Validate the fields of a request to ``endpoint`` and return the JSON body to send.

    Fields that are ``None`` are left out, so the service applies its defaults. Raises
    :class:`KlingValidationError`, naming the field, the bad value and what is allowed, on the first
    field that breaks the contract.

    :param endpoint: the kind of task (see :data:`ENDPOINTS`).
    :param fields: the request fields by name (see the endpoint's ``fields``).
    :param backend: the service the request goes to (its limits differ: see :class:`Backend`).
    :param extra_models: model names to accept beyond the known ones (Kling ships new ones often).
    :param extra_fields: fields the provider does not know yet, sent as given (see :func:`check_extra_fields`).
    """
    unknown = [name for name in fields if name not in endpoint.fields]
    if unknown:
        raise KlingValidationError(
            unknown[0],
            f"is not a {endpoint.title} field; allowed: {', '.join(endpoint.fields)} (others go in extra_fields)",
        )
    given = {name: value for name, value in fields.items() if value is not None}
    body = endpoint.build(given, backend, tuple(extra_models))
    return {**body, **check_extra_fields(extra_fields, (*endpoint.fields, *(wire for _, wire in endpoint.renamed)))}


def build_text2video_request(
    fields: Mapping[str, Any],
    *,
    backend: Backend = DEFAULT_BACKEND,
    extra_models: Iterable[str] = (),
    extra_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    :func:`build_request` for text-to-video. ``duration`` goes on the wire as a string; with
    ``multi_shot`` and ``shot_type="customize"`` it defaults to the sum of the shots' durations and
    must equal it.

    :param fields: the request fields by name (see :data:`REQUEST_FIELDS`).
    :param backend: the service the request goes to.
    :param extra_models: model names to accept beyond the known ones.
    :param extra_fields: fields the provider does not know yet, sent as given.
    """
    return build_request(TEXT2VIDEO, fields, backend=backend, extra_models=extra_models, extra_fields=extra_fields)


def loggable_body(body: Any) -> Any:
    """
    A request body (or any JSON value) fit for a log line: long texts that are not URLs (Base64 images and
    masks) are shown by their length, at any depth.
    """
    if isinstance(body, Mapping):
        return {name: loggable_body(value) for name, value in body.items()}
    if isinstance(body, (list, tuple)):
        return [loggable_body(value) for value in body]
    if isinstance(body, str) and len(body) > LOGGED_TEXT_MAX_CHARS and not body.startswith(("https://", "http://")):
        return f"<{len(body)} characters, not logged>"
    return body


def check_seconds(name: str, value: Any) -> float:
    """Check an operator argument that is a duration in seconds (above 0, at most 30 days); return it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
        raise KlingValidationError(
            name, f"got {_shown(value)}; allowed: a number of seconds above 0, at most {MAX_SECONDS} (30 days)"
        )
    return value


def check_flag(name: str, value: Any) -> bool:
    """Check an operator argument that is a switch (``True`` or ``False``, not a string); return it."""
    if not isinstance(value, bool):
        raise KlingValidationError(name, f"got {_shown(value)}; allowed: True or False")
    return value


def check_id(name: str, value: Any, allowed: str) -> str:
    """Check an operator argument that names something (a non-blank string); return it."""
    if not isinstance(value, str) or not value.strip():
        raise KlingValidationError(name, f"got {_shown(value)}; allowed: {allowed}")
    return value


def check_conn_id(value: Any) -> str:
    """Check a ``kling_conn_id`` argument; return it."""
    return check_id("kling_conn_id", value, "the id of a connection of type kling")


def task_videos(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return the result video items of a task object that carry an ``http(s)`` URL (empty until it succeeds).

    The items are the task object's own, so that what is noted on them (``stored_path``) is in the result.
    """
    result = task.get("task_result")
    videos = result.get("videos") if isinstance(result, Mapping) else None
    if not isinstance(videos, list):
        return []
    return [
        video
        for video in videos
        if isinstance(video, dict)
        and isinstance(video.get("url"), str)
        and urlsplit(video["url"]).scheme in ("http", "https")
    ]


def task_video_urls(task: Mapping[str, Any]) -> list[str]:
    """Return the result video URLs (``http(s)`` only) of a task object (empty until it succeeds)."""
    return [video["url"] for video in task_videos(task)]


def succeeded_video_urls(task: Mapping[str, Any]) -> list[str]:
    """
    The video URLs of a task that ended ``succeed``: a success must name at least one.

    :raises KlingUnexpectedAnswerError: when it names none (retryable: a later read may).
    """
    urls = task_video_urls(task)
    if not urls:
        raise KlingUnexpectedAnswerError(f"Kling says task {task.get('task_id')} succeeded, but it names no video URL")
    return urls


def task_status(task: Mapping[str, Any]) -> TaskStatus | None:
    """The task's status from the closed set, or None for a status the contract does not know."""
    try:
        return TaskStatus(task.get("task_status"))
    except ValueError:
        return None


def _task_id(value: Any, answer: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not TASK_ID_PATTERN.fullmatch(value):
        raise KlingUnexpectedAnswerError(
            f"The answer carries no usable task id (got {_shown(value)}): {_shown(answer)}"
        )
    return value


def parse_task(data: Any, *, submitted: bool = False) -> dict[str, Any]:
    """
    Read Kling's task object out of an answer's ``data``, with a trusted ``task_id`` and ``task_status``.

    Takes Kling's task object, the relay's own envelope (``{"task_id", "status": "SUCCESS", "data":
    {<Kling's task>}}``) and the relay's OpenAI-style submit answer (``{"id": "task_..."}``). The
    task id must be letters, digits, ``_`` and ``-`` (it goes into paths and file names); a status
    outside :class:`TaskStatus` is left as given, for :func:`task_status` to call unknown; only the
    result videos with an ``http(s)`` URL are kept.

    :param data: the ``data`` of the answer (see :func:`parse_response`).
    :param submitted: the answer is a submission's: without any status, the task is ``submitted``.
    :raises KlingUnexpectedAnswerError: when the answer holds no task or no usable task id.
    """
    if not isinstance(data, Mapping):
        raise KlingUnexpectedAnswerError(f"The answer carries no task: {_shown(data)}")
    task = dict(data)
    inner = task.get("data")
    if "task_status" not in task and isinstance(inner, Mapping):
        relay = task
        task = {**inner, "task_id": inner.get("task_id") or relay.get("task_id") or relay.get("id")}
        if "task_status" not in task and isinstance(relay.get("status"), str):
            mapped = _RELAY_STATUSES.get(relay["status"])
            task["task_status"] = mapped.value if mapped else relay["status"]
        if relay.get("fail_reason") and not task.get("task_status_msg"):
            task["task_status_msg"] = relay["fail_reason"]
    task["task_id"] = _task_id(task.get("task_id") or task.get("id"), data)
    if isinstance(task.get("task_result"), Mapping) and "videos" in task["task_result"]:
        # Only the video items that are usable (an http(s) URL) stay: videos[0] is always a real video.
        task["task_result"] = {**task["task_result"], "videos": task_videos(task)}
    if "task_status" not in task and submitted:
        task["task_status"] = TaskStatus.SUBMITTED.value
    return task


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            import pendulum

            seconds = (parsedate_to_datetime(value) - pendulum.now("UTC")).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


#: What an error text must never show: the API key, or several secrets (the key and a token made from it).
Secrets = str | tuple[str, ...] | None


def excerpt(body: bytes, secret: Secrets) -> str:
    """The start of an answer, for an error message: ``secret`` is scrubbed before it is cut, so no part shows."""
    text = redact(body[: 64 << 10].decode("utf-8", "replace"), secret).strip()
    return text if len(text) <= 200 else f"{text[:200]}..."


def redact(text: str, secret: Secrets) -> str:
    """Replace every occurrence of ``secret`` (or of each of several) in ``text`` with ``***``."""
    for one in (secret,) if isinstance(secret, str) or secret is None else secret:
        if one:
            text = text.replace(one, "***")
    return text


_KLING_CODES: dict[int, tuple[type[KlingError], str]] = {
    **{code: (KlingAuthError, "authentication failed") for code in range(1000, 1005)},
    1100: (KlingAccountError, "account exception"),
    1101: (KlingAccountError, "account in arrears"),
    1102: (KlingAccountError, "resource pack depleted or expired"),
    1103: (KlingAccountError, "no permission for this resource or model"),
    1200: (KlingInvalidRequestError, "invalid request parameters"),
    1201: (KlingInvalidRequestError, "invalid parameter"),
    1202: (KlingInvalidRequestError, "invalid method or path"),
    1203: (KlingTaskNotFoundError, "task does not exist"),
    1300: (KlingContentPolicyError, "platform policy triggered"),
    1301: (KlingContentPolicyError, "content safety policy triggered"),
    1302: (KlingTransientError, "rate limited"),
    1303: (KlingTransientError, "parallel task over resource pack limit (the account's concurrency)"),
    1304: (KlingAccountError, "IP not on the allow list"),
    5000: (KlingTransientError, "server error"),
    5001: (KlingTransientError, "temporarily unavailable"),
    5002: (KlingTransientError, "server timeout"),
}

#: What to do about each account refusal that no wait fixes, named in its error.
_ACCOUNT_FIXES = {
    1100: "check the account's status in the Kling (or CometAPI) console",
    1101: "the account is in arrears: top up its balance, then run the task again",
    1102: "the account's resource pack is used up or has expired: buy or renew one, then run the task again",
    1304: "this machine's IP address is not on the key's allow list: add it there",
}

#: Kling's code for requests sent too fast, and for a submission over the account's concurrency.
REQUESTS_TOO_FAST_CODE = 1302
ACCOUNT_BUSY_CODE = 1303
#: Kling codes that say the request was refused before any work began (safe to send again).
_REFUSED_CODES = frozenset({REQUESTS_TOO_FAST_CODE, ACCOUNT_BUSY_CODE, 5001})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
#: Kling codes for requests over the account's rate or concurrency.
RATE_LIMIT_CODES = frozenset({REQUESTS_TOO_FAST_CODE, ACCOUNT_BUSY_CODE})


def is_account_busy(error: KlingError) -> bool:
    """
    Whether a submission was refused for the account's concurrency, before any work: Kling's 1303 ("parallel task
    over resource pack limit"), or an HTTP 429 that carries no Kling code (a relay's own text, which may stand for
    1303) and none of the account refusals that no wait fixes. Only time fixes it: a task on the account must end.

    :param error: what a submission raised.
    """
    return (
        isinstance(error, KlingTransientError)
        and not error.ambiguous
        and error.status == 429
        and error.code != REQUESTS_TOO_FAST_CODE
    )


def is_rate_limited(error: KlingError) -> bool:
    """Whether an error is the service asking for fewer requests: a transient HTTP 429, or Kling's 1302/1303."""
    return isinstance(error, KlingTransientError) and (error.status == 429 or error.code in RATE_LIMIT_CODES)


#: CometAPI's gateway: its string ``code``s (``{"code": "...", "message": "...", "data": null}``) and the
#: ``code`` or message of its own ``{"error": {...}}`` envelope, each with the error it means and what to do.
#: ``fail_to_fetch_task`` is not here: it wraps Kling's own answer, which is read instead.
GATEWAY_ERRORS: dict[str, tuple[type[KlingError], str]] = {
    "task_not_exist": (KlingTaskNotFoundError, "no such task (CometAPI knows tasks by their task_id only)"),
    "task_failed": (KlingInvalidRequestError, "Kling refused the task"),
    "model_not_found": (
        KlingAccountError,
        "the model is not offered to this key: choose another model_name or enable the model for the key in CometAPI",
    ),
    "invalid_request": (KlingInvalidRequestError, "CometAPI refused the request as invalid"),
}
#: Phrases in a gateway message that stand for a code (its 503 for a model the key cannot use has none).
_GATEWAY_PHRASES = {"no available channel": "model_not_found"}
_KEY_REFUSED = "The API key was refused (check the connection's password, and its login for Kling's own API)"
#: Words in a 429's text that mean the account is out of money, not over a rate: no retry helps.
_BALANCE_WORDS = ("balance", "quota", "insufficient", "余额", "额度")


def _is_transient_status(status: int) -> bool:
    return status in _TRANSIENT_STATUSES or status >= 500


def _kling_error(
    status: int, code: int, message: Any, request_id: Any, retry_after: float | None, secret: Secrets
) -> KlingError:
    error_class, meaning = _KLING_CODES.get(code, (None, "unknown error"))
    text = redact(f"Kling error: {message or meaning}", secret)
    if code in _ACCOUNT_FIXES:
        text = f"{text}: {_ACCOUNT_FIXES[code]}"
    if error_class is KlingAuthError:
        text = f"{_KEY_REFUSED}: {text}"
    details: dict[str, Any] = {"status": status, "code": code, "request_id": _field(request_id, secret)}
    if error_class is KlingTransientError or (error_class is None and _is_transient_status(status)):
        return KlingTransientError(text, retry_after=retry_after, ambiguous=code not in _REFUSED_CODES, **details)
    return (error_class or KlingPermanentError)(text, **details)


def _field(value: Any, secret: Secrets) -> str | None:
    """A code or request id from an answer, as it may go into a message: a short string, never the key."""
    if value is None or value == "":
        return None
    return redact(str(value), secret)[:80]


def _by_status(status: int, code: str | None, text: str, retry_after: float | None, *, structured: bool) -> KlingError:
    """An error the gateway or a proxy gave without a code we know: classified by its HTTP status and words."""
    details: dict[str, Any] = {"status": status, "code": code or None}
    if status == 429 and any(word in text.lower() for word in _BALANCE_WORDS):
        return KlingAccountError(f"{text} (the account's balance or quota is spent: top it up)", **details)
    if _is_transient_status(status):
        # A structured 429 was refused before any work; anything else may have been processed.
        refused = structured and status == 429
        return KlingTransientError(text, retry_after=retry_after, ambiguous=not refused, **details)
    if status in (401, 403):
        return KlingAuthError(f"{_KEY_REFUSED}: {text}", **details)
    return KlingPermanentError(text, **details)


def _gateway_error(
    status: int, code: str, message: Any, retry_after: float | None, secret: Secrets, url: str | None
) -> KlingError:
    """Read one of CometAPI's own errors: a string ``code``, or the ``{"error": {...}}`` envelope."""
    text = str(message or code or "no message")
    if code == "fail_to_fetch_task":
        # The relay passes Kling's non-200 answer on as a string: classify by what Kling said.
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        found = _from_payload(status, inner, retry_after, secret, url) if isinstance(inner, dict) else None
        if found is not None:
            return found
        if isinstance(inner, dict):  # Kling answered a success, yet the relay did not hand it on: read again
            return KlingTransientError(
                redact(f"CometAPI error: {text}", secret), retry_after=retry_after, status=status, code=code
            )
    code = next((meant for phrase, meant in _GATEWAY_PHRASES.items() if phrase in text.lower()), code)
    row = GATEWAY_ERRORS.get(code)
    if row is not None:
        error_class, advice = row
        return error_class(
            redact(f"CometAPI error: {text}: {advice}", secret), status=status, code=_field(code, secret)
        )
    return _by_status(
        status, _field(code, secret), redact(f"CometAPI error: {text}", secret), retry_after, structured=True
    )


def _from_payload(
    status: int, payload: dict[str, Any], retry_after: float | None, secret: Secrets, url: str | None
) -> KlingError | None:
    """The error a JSON answer carries, or None for a success."""
    code = payload.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        return _kling_error(status, code, payload.get("message"), payload.get("request_id"), retry_after, secret)
    if isinstance(code, str) and code.lower() not in ("", "0", "success", "succeed"):
        return _gateway_error(status, code, payload.get("message"), retry_after, secret, url)
    error = payload.get("error")
    if isinstance(error, dict):
        error_code = error.get("code")
        return _gateway_error(
            status, error_code if isinstance(error_code, str) else "", error.get("message"), retry_after, secret, url
        )
    if not 200 <= status < 300:
        text = redact(f"Error from Kling: {payload.get('message') or json.dumps(payload)[:200]}", secret)
        return _by_status(status, None, text, retry_after, structured=True)
    return None


def parse_response(
    status: int, headers: Mapping[str, str], body: bytes, *, secret: Secrets = None, url: str | None = None
) -> Any:
    """
    Turn one HTTP answer into the ``data`` it carries, or raise the matching :class:`KlingError`.

    Classification follows Kling's numeric ``code`` first (HTTP 429 is final for 1100-1102 and 1304,
    transient for 1302-1303), then CometAPI's string codes and ``{"error": {...}}`` envelope
    (:data:`GATEWAY_ERRORS`; ``fail_to_fetch_task`` is read as the Kling answer it wraps), then the
    HTTP status. A page that is not JSON on a 2xx or 3xx (the relay's web UI on a path it does not
    route) is a configuration error; on a 5xx it is transient. Messages show the status, the code,
    the service's message and request id, never ``secret``.

    :param status: the HTTP status code.
    :param headers: the response headers (``Retry-After`` is read from them).
    :param body: the raw response body.
    :param secret: the API key (or it and the token made from it), scrubbed from any text copied into an error.
    :param url: the URL asked, named in a configuration error.
    """
    retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        message = f"Unreadable answer from Kling (HTTP {status}): {excerpt(body, secret)!r}"
        looks_like_json = body.lstrip()[:1] in (b"{", b"[")
        if (status < 400 and body.strip() and not looks_like_json) or status in (404, 405):
            raise KlingConfigurationError(
                f"{message}. This is not the Kling API: check the connection's host (asked {url or 'the API'})",
                status=status,
            )
        if status < 300 or _is_transient_status(status):
            raise KlingTransientError(message, status=status, retry_after=retry_after, ambiguous=status != 429)
        raise KlingPermanentError(message, status=status)
    error = _from_payload(status, payload, retry_after, secret, url)
    if error is not None:
        raise error
    if "data" in payload:
        return payload["data"]
    if "task_id" in payload or "id" in payload:
        return payload  # the relay's OpenAI-style task object, not wrapped
    raise KlingTransientError(
        f"Answer from Kling has no data: {excerpt(body, secret)!r}", status=status, ambiguous=True
    )
