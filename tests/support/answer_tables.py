"""Answers from the service and what each must become: the hook's tests send them over loopback, the fast
tests hand them straight to the parser."""

from __future__ import annotations

import json

import pytest

from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingConfigurationError,
    KlingContentPolicyError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingTaskNotFoundError,
    KlingTransientError,
)

ERROR_TABLE = [
    # (status, code, exception class, whether the hook retried it)
    (401, 1000, KlingAuthError, False),
    (401, 1004, KlingAuthError, False),
    (429, 1100, KlingAccountError, False),
    (429, 1101, KlingAccountError, False),
    (429, 1102, KlingAccountError, False),
    (403, 1103, KlingAccountError, False),
    (400, 1200, KlingInvalidRequestError, False),
    (400, 1201, KlingInvalidRequestError, False),
    (404, 1202, KlingInvalidRequestError, False),
    (404, 1203, KlingTaskNotFoundError, False),
    (400, 1300, KlingContentPolicyError, False),
    (400, 1301, KlingContentPolicyError, False),
    (429, 1302, KlingTransientError, True),
    (429, 1303, KlingTransientError, True),
    (429, 1304, KlingAccountError, False),
    (500, 5000, KlingTransientError, True),
    (503, 5001, KlingTransientError, True),
    (504, 5002, KlingTransientError, True),
]


def _kling_json(code: int, message: str) -> str:
    return json.dumps({"code": code, "message": message, "request_id": "req-1"})


def _wrapped(code: int, message: str) -> str:
    """Kling's error as CometAPI's relay passes it on: its raw JSON body as a string in ``message``."""
    return json.dumps({"code": "fail_to_fetch_task", "message": _kling_json(code, message), "data": None})


def _relay(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "type": "comet_api_error"}})


HTML_PAGE = "<!doctype html><html><head><title>CometAPI</title></head><body><div id='root'></div></body></html>"

#: CometAPI's gateway answers, each with the exact body shown in ../shared/kling-api.md ("CometAPI's gateway"):
#: (status, body, error class, whether the hook retried it, text the error must contain).
GATEWAY_TABLE = [
    pytest.param(
        400,
        '{"code": "task_not_exist", "message": "task_not_exist", "data": null}',
        KlingTaskNotFoundError,
        False,
        "task_id only",
        id="task_not_exist",
    ),
    pytest.param(
        400, _wrapped(1301, "content safety"), KlingContentPolicyError, False, "content safety", id="wrapped-1301"
    ),
    pytest.param(429, _wrapped(1102, "pack depleted"), KlingAccountError, False, "pack depleted", id="wrapped-1102"),
    pytest.param(429, _wrapped(1303, "too many"), KlingTransientError, True, "too many", id="wrapped-1303"),
    pytest.param(500, _wrapped(5000, "kling broke"), KlingTransientError, True, "kling broke", id="wrapped-5000"),
    pytest.param(
        502,
        json.dumps({"code": "fail_to_fetch_task", "message": "upstream said no", "data": None}),
        KlingTransientError,
        True,
        "upstream said no",
        id="wrapped-text-5xx",
    ),
    pytest.param(
        400,
        json.dumps({"code": "task_failed", "message": "prompt refused upstream", "data": None}),
        KlingInvalidRequestError,
        False,
        "prompt refused upstream",
        id="task_failed",
    ),
    pytest.param(
        401, _relay("", "invalid token (request id: abc)"), KlingAuthError, False, "invalid token", id="invalid-token"
    ),
    pytest.param(
        503,
        _relay("model_not_found", "no available channel for group default and model kling-v3 (request id: abc)"),
        KlingAccountError,
        False,
        "choose another model_name",
        id="model_not_found",
    ),
    pytest.param(
        503,
        _relay("", "no available channel for group default and model kling-v3 (request id: abc)"),
        KlingAccountError,
        False,
        "choose another model_name",
        id="no-available-channel",
    ),
    pytest.param(
        500, _relay("invalid_request", "bad field"), KlingInvalidRequestError, False, "bad field", id="invalid_request"
    ),
    pytest.param(200, HTML_PAGE, KlingConfigurationError, False, "check the connection's host", id="html-200"),
    pytest.param(301, HTML_PAGE, KlingConfigurationError, False, "not the Kling API", id="html-301"),
    pytest.param(404, "Not Found", KlingConfigurationError, False, "not the Kling API", id="text-404"),
    pytest.param(502, "<html><body>502 Bad Gateway</body></html>", KlingTransientError, True, "502", id="html-502"),
    pytest.param(524, "<html>origin timed out</html>", KlingTransientError, True, "524", id="html-524"),
    pytest.param(200, '{"code": 0, "data": ', KlingTransientError, True, "Unreadable", id="truncated-json"),
    pytest.param(
        429,
        _relay("", "upstream overloaded, retry later"),
        KlingTransientError,
        True,
        "upstream overloaded",
        id="429-overloaded",
    ),
    pytest.param(
        429,
        _relay("insufficient_user_quota", "user quota is not enough"),
        KlingAccountError,
        False,
        "balance or quota",
        id="429-quota",
    ),
    pytest.param(403, _relay("", "forbidden"), KlingAuthError, False, "forbidden", id="403"),
    pytest.param(400, _relay("", "bad"), KlingPermanentError, False, "bad", id="400"),
]


def with_status(task_id: str, status: str) -> str:
    """A lookup's answer for a task in this status, as Kling wraps it."""
    return json.dumps({"code": 0, "message": "SUCCEED", "data": {"task_id": task_id, "task_status": status}})


def paused(task_id: str) -> str:
    """A lookup's answer with a status outside the known set (a newer service's, say): to be waited on."""
    return with_status(task_id, "paused")


#: Two shots of a multi-shot request as a DAG gives them, and as they go on the wire (numbered, durations as text).
TWO_SHOTS = [{"prompt": "a fox wakes", "duration": 2}, {"prompt": "it runs", "duration": "3"}]
TWO_SHOTS_SENT = [
    {"index": 1, "prompt": "a fox wakes", "duration": "2"},
    {"index": 2, "prompt": "it runs", "duration": "3"},
]

#: Request fields each with a value the contract refuses, and the words of what is allowed.
INVALID_FIELDS = [
    ("prompt", "", "1 to 500"),
    ("prompt", "   ", "1 to 500"),
    ("prompt", "\u200b" * 10, "1 to 500"),
    ("prompt", "x" * 501, "at most 500"),
    ("prompt", 42, "must be a string"),
    ("negative_prompt", "x" * 201, "at most 200"),
    ("negative_prompt", ["blurry"], "must be a string"),
    ("model_name", "kling-v9", "kling-v1, kling-v1-6"),
    ("model_name", "", "kling-v3"),
    ("cfg_scale", 1.5, "from 0 to 1"),
    ("cfg_scale", -0.1, "from 0 to 1"),
    ("cfg_scale", "0.5", "from 0 to 1"),
    ("cfg_scale", True, "from 0 to 1"),
    ("mode", "fast", "std, pro"),
    ("aspect_ratio", "4:3", "16:9, 9:16, 1:1"),
    ("aspect_ratio", "16x9", "16:9, 9:16, 1:1"),
    ("duration", 7, "5, 10"),
    ("duration", "5s", "5, 10"),
    ("duration", 5.0, "5, 10"),
    ("sound", True, "on, off"),
    ("sound", "loud", "on, off"),
    ("camera_control", "zoom", "must be a dict"),
    ("camera_control", {"type": "spin"}, "simple, down_back"),
    ("camera_control", {"type": "simple"}, "required with type 'simple'"),
    ("camera_control", {"type": "down_back", "config": {"zoom": 1}}, "only allowed with type 'simple'"),
    ("camera_control", {"type": "simple", "config": {"zoom": 11}}, "from -10 to 10"),
    ("camera_control", {"type": "simple", "config": {"zoom": 1, "pan": 1}}, "exactly one"),
    ("camera_control", {"type": "simple", "config": {}}, "exactly one"),
    ("camera_control", {"type": "simple", "config": {"dolly": 1}}, "unknown keys"),
    ("camera_control", {"type": "simple", "config": {"zoom": 1}, "speed": 2}, "unknown keys"),
    ("callback_url", "http://example.com/hook", "https://"),
    ("callback_url", "ftp://example.com/hook", "https://"),
    ("callback_url", "", "must not be empty"),
    ("callback_url", "https://exa mple.com/hook", "no spaces"),
    ("callback_url", "https://example.com\n.evil/hook", "no spaces"),
    ("callback_url", "https://example.com:99999/hook", "a port up to 65535"),
    ("external_task_id", "", "must not be empty"),
    ("external_task_id", 123, "must be a string"),
    ("external_task_id", "x" * 129, "at most 128"),
    ("multi_shot", "yes", "allowed: True or False"),
    ("watermark_info", {"enabled": "yes"}, '{"enabled": True} or {"enabled": False}'),
    ("watermark_info", True, '{"enabled": True} or {"enabled": False}'),
    ("resolution", "1080p", "is not a text-to-video field"),
]
