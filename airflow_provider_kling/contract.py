"""The Kling text-to-video contract in one place: request fields, their validation, and answer parsing.

Used by :class:`~airflow_provider_kling.hooks.kling.KlingHook` (sync and async), the operator (to
fail before anything is sent) and the sandbox server (to reject what the real service rejects).
No I/O here: every function takes and returns plain data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingContentPolicyError,
    KlingError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingValidationError,
)

TEXT2VIDEO_PATH = "/kling/v1/videos/text2video"

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
#: Models that do not take ``cfg_scale``.
NO_CFG_SCALE_MODELS = ("kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6")
MODES = ("std", "pro")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
DURATIONS = ("5", "10")
SOUNDS = ("on", "off")
CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
PROMPT_MAX_CHARS = 500
NEGATIVE_PROMPT_MAX_CHARS = 200
EXTERNAL_TASK_ID_MAX_CHARS = 128

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
)

ACTIVE_STATUSES = ("submitted", "processing")
SUCCEEDED = "succeed"
FAILED = "failed"

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(value) if isinstance(value, str) else '?'} chars)"


def _one_of(field: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise KlingValidationError(field, f"got {_shown(value)}; allowed: {', '.join(allowed)}")
    return value


def _text(field: str, value: Any, max_chars: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise KlingValidationError(field, f"must be a string, got {type(value).__name__} {_shown(value)}")
    if required and not value.strip():
        raise KlingValidationError(field, f"must not be empty; allowed: 1 to {max_chars} characters")
    if len(value) > max_chars:
        raise KlingValidationError(field, f"is {len(value)} characters long; allowed: at most {max_chars} characters")
    return value


def _camera_control(value: Any) -> dict[str, Any]:
    field = "camera_control"
    if not isinstance(value, Mapping):
        raise KlingValidationError(
            field, f'must be a dict like {{"type": "simple", "config": {{...}}}}, got {_shown(value)}'
        )
    unknown = set(value) - {"type", "config"}
    if unknown:
        raise KlingValidationError(field, f"unknown keys {sorted(unknown)}; allowed keys: type, config")
    camera_type = _one_of(f"{field}.type", value.get("type"), CAMERA_TYPES)
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
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise KlingValidationError(
        "callback_url", f"got {_shown(url)}; allowed: an https:// URL (http:// only for localhost)"
    )


def build_text2video_request(fields: Mapping[str, Any], *, extra_models: Iterable[str] = ()) -> dict[str, Any]:
    """
    Validate the fields of a text-to-video request and return the JSON body to send.

    Fields that are ``None`` are left out, so the service applies its defaults. ``duration`` goes on
    the wire as a string. Raises :class:`KlingValidationError`, naming the field, the bad value and
    what is allowed, on the first field that breaks the contract.

    :param fields: the request fields by name (see :data:`REQUEST_FIELDS`).
    :param extra_models: model names to accept beyond :data:`KNOWN_MODELS` (Kling ships new ones often).
    """
    unknown = [name for name in fields if name not in REQUEST_FIELDS]
    if unknown:
        raise KlingValidationError(unknown[0], f"is not a text-to-video field; allowed: {', '.join(REQUEST_FIELDS)}")
    given = {name: value for name, value in fields.items() if value is not None}
    if "prompt" not in given:
        raise KlingValidationError("prompt", f"is required: 1 to {PROMPT_MAX_CHARS} characters")
    body: dict[str, Any] = {"prompt": _text("prompt", given["prompt"], PROMPT_MAX_CHARS, required=True)}
    if "negative_prompt" in given:
        body["negative_prompt"] = _text("negative_prompt", given["negative_prompt"], NEGATIVE_PROMPT_MAX_CHARS)
    model = given.get("model_name")
    if model is not None:
        body["model_name"] = _one_of("model_name", model, (*KNOWN_MODELS, *extra_models))
    if "cfg_scale" in given:
        scale = given["cfg_scale"]
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 1:
            raise KlingValidationError("cfg_scale", f"got {_shown(scale)}; allowed: a number from 0 to 1")
        if model in NO_CFG_SCALE_MODELS:
            raise KlingValidationError("cfg_scale", f"is not supported by {model}; leave it unset for this model")
        body["cfg_scale"] = scale
    if "mode" in given:
        body["mode"] = _one_of("mode", given["mode"], MODES)
    if "aspect_ratio" in given:
        body["aspect_ratio"] = _one_of("aspect_ratio", given["aspect_ratio"], ASPECT_RATIOS)
    if "duration" in given:
        duration = given["duration"]
        wire = str(duration) if isinstance(duration, int) and not isinstance(duration, bool) else duration
        body["duration"] = _one_of("duration", wire, DURATIONS)
    if "sound" in given:
        body["sound"] = _one_of("sound", given["sound"], SOUNDS)
        if model in KNOWN_MODELS and model not in SOUND_MODELS:
            raise KlingValidationError(
                "sound", f"is not supported by {model}; models with generated audio: {', '.join(SOUND_MODELS)}"
            )
    if "camera_control" in given:
        body["camera_control"] = _camera_control(given["camera_control"])
    if "callback_url" in given:
        body["callback_url"] = _callback_url(given["callback_url"])
    if "external_task_id" in given:
        body["external_task_id"] = _text(
            "external_task_id", given["external_task_id"], EXTERNAL_TASK_ID_MAX_CHARS, required=True
        )
    return body


def check_seconds(name: str, value: Any) -> float:
    """Check an operator argument that is a duration in seconds (a number above 0); return it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise KlingValidationError(name, f"got {_shown(value)}; allowed: a number of seconds above 0")
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


def task_video_urls(task: Mapping[str, Any]) -> list[str]:
    """Return the result video URLs of a task object (empty until it succeeds)."""
    result = task.get("task_result") or {}
    return [video["url"] for video in result.get("videos") or [] if isinstance(video, Mapping) and video.get("url")]


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


def _excerpt(body: bytes, secret: str | None) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return redact(text, secret)


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` with ``***``."""
    return text.replace(secret, "***") if secret else text


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
    1303: (KlingTransientError, "concurrency or QPS over the account limit"),
    1304: (KlingAccountError, "IP not on the allow list"),
    5000: (KlingTransientError, "server error"),
    5001: (KlingTransientError, "temporarily unavailable"),
    5002: (KlingTransientError, "server timeout"),
}

#: Kling codes that say the request was refused before any work began (safe to send again).
_REFUSED_CODES = frozenset({1302, 1303, 5001})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def _is_transient_status(status: int) -> bool:
    return status in _TRANSIENT_STATUSES or status >= 500


def parse_response(status: int, headers: Mapping[str, str], body: bytes, *, secret: str | None = None) -> Any:
    """
    Turn one HTTP answer into the ``data`` it carries, or raise the matching :class:`KlingError`.

    Classification follows Kling's ``code`` first (HTTP 429 is final for 1100-1102 and 1304,
    transient for 1302-1303), then CometAPI's ``{"error": {...}}`` envelope and the HTTP status.
    Messages show the status, the code, the service's message and request id, never ``secret``.

    :param status: the HTTP status code.
    :param headers: the response headers (``Retry-After`` is read from them).
    :param body: the raw response body.
    :param secret: the API key, to be scrubbed from any text copied into an error.
    """
    retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        message = f"Unreadable answer from Kling: {_excerpt(body, secret)!r}"
        if 200 <= status < 300 or _is_transient_status(status):
            raise KlingTransientError(message, status=status, retry_after=retry_after, ambiguous=status != 429)
        raise KlingPermanentError(message, status=status)

    request_id = payload.get("request_id")
    code = payload.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        error_class, meaning = _KLING_CODES.get(code, (None, "unknown error"))
        message = redact(f"Kling error: {payload.get('message') or meaning}", secret)
        details = {"status": status, "code": code, "request_id": request_id}
        if error_class is KlingTransientError or (error_class is None and _is_transient_status(status)):
            raise KlingTransientError(message, retry_after=retry_after, ambiguous=code not in _REFUSED_CODES, **details)
        raise (error_class or KlingPermanentError)(message, **details)

    error = payload.get("error")
    if isinstance(error, dict) or not 200 <= status < 300:
        error = error if isinstance(error, dict) else {}
        message = redact(f"CometAPI error: {error.get('message') or _excerpt(body, secret)}", secret)
        details = {"status": status, "code": error.get("code") or None}
        if _is_transient_status(status):
            raise KlingTransientError(message, retry_after=retry_after, ambiguous=status != 429, **details)
        raise (KlingAuthError if status in (401, 403) else KlingPermanentError)(message, **details)

    if "data" not in payload:
        raise KlingTransientError(
            f"Answer from Kling has no data: {_excerpt(body, secret)!r}", status=status, ambiguous=True
        )
    return payload["data"]
