"""Fast: the contract's validators, request builder and task reader, value by value, with the exact errors."""

from __future__ import annotations

import functools
import json

import pytest
from support.answer_tables import TWO_SHOTS, TWO_SHOTS_SENT

from airflow_provider_kling._constants import MAX_SECONDS
from airflow_provider_kling.arguments import check_conn_id, check_flag, check_id, check_seconds
from airflow_provider_kling.contract import (
    COMETAPI,
    KLING,
    build_text2video_request,
    check_camera_control,
    parse_response,
    parse_task,
    succeeded_result_urls,
    task_videos,
)
from airflow_provider_kling.contract.fields import is_number
from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingConfigurationError,
    KlingError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
)

SECRET = "sk-unit-SECRET-0123456789"


def _refused(function, *args, **kwargs) -> KlingValidationError:
    with pytest.raises(KlingValidationError) as raised:
        function(*args, **kwargs)
    return raised.value


# Request fields: each good value lands in the body under its own name, in its wire form.
@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ({"negative_prompt": "blurry"}, {"negative_prompt": "blurry"}),
        ({"negative_prompt": ""}, {"negative_prompt": ""}),
        ({"negative_prompt": "x" * 200}, {"negative_prompt": "x" * 200}),
        ({"model_name": "kling-v1-6"}, {"model_name": "kling-v1-6"}),
        ({"model_name": "kling-v1", "cfg_scale": 0}, {"model_name": "kling-v1", "cfg_scale": 0}),
        ({"cfg_scale": 1}, {"cfg_scale": 1}),
        ({"mode": "pro"}, {"mode": "pro"}),
        ({"aspect_ratio": "9:16"}, {"aspect_ratio": "9:16"}),
        ({"duration": 5}, {"duration": "5"}),
        ({"duration": "10"}, {"duration": "10"}),
        ({"sound": "on"}, {"sound": "on"}),
        ({"model_name": "kling-v3", "sound": "off"}, {"model_name": "kling-v3", "sound": "off"}),
        ({"camera_control": {"type": "down_back"}}, {"camera_control": {"type": "down_back"}}),
        (
            {"camera_control": {"type": "simple", "config": {"zoom": -10}}},
            {
                "camera_control": {
                    "type": "simple",
                    "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": -10},
                }
            },
        ),
        ({"callback_url": "https://example.com/hook"}, {"callback_url": "https://example.com/hook"}),
        ({"callback_url": "http://localhost:8080/hook"}, {"callback_url": "http://localhost:8080/hook"}),
        ({"callback_url": "http://[::1]/hook"}, {"callback_url": "http://[::1]/hook"}),
        ({"external_task_id": "airflow-1"}, {"external_task_id": "airflow-1"}),
        ({"external_task_id": "x" * 128}, {"external_task_id": "x" * 128}),
        ({"mode": None, "sound": None}, {}),
    ],
)
def test_each_good_field_lands_in_the_body_under_its_name(fields, body):
    assert build_text2video_request({"prompt": "a cat", **fields}) == {"prompt": "a cat", **body}


def test_the_longest_prompt_is_accepted():
    assert build_text2video_request({"prompt": "x" * 500}) == {"prompt": "x" * 500}


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({}, "prompt", "Invalid prompt: is required: 1 to 500 characters"),
        ({"prompt": None}, "prompt", "is required: 1 to 500 characters"),
        ({"prompt": " \u200b\u200d "}, "prompt", "Invalid prompt: must not be empty; allowed: 1 to 500 characters"),
        ({"prompt": "x" * 501}, "prompt", "Invalid prompt: is 501 characters long; allowed: at most 500 characters"),
        ({"prompt": 7}, "prompt", "Invalid prompt: must be a string, got int 7"),
        (
            {"prompt": "a", "resolution": "1080p"},
            "resolution",
            "Invalid resolution: is not a text-to-video field; "
            "allowed: prompt, negative_prompt, model_name, cfg_scale, mode, aspect_ratio, duration, sound, "
            "camera_control, callback_url, external_task_id",
        ),
        ({"prompt": "a", "negative_prompt": "x" * 201}, "negative_prompt", "at most 200 characters"),
        (
            {"prompt": "a", "model_name": "kling-v9"},
            "model_name",
            "got 'kling-v9'; allowed: kling-v1, kling-v1-6, "
            "kling-v2-master, kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3",
        ),
        ({"prompt": "a", "mode": "fast"}, "mode", "Invalid mode: got 'fast'; allowed: std, pro"),
        ({"prompt": "a", "aspect_ratio": "4:3"}, "aspect_ratio", "got '4:3'; allowed: 16:9, 9:16, 1:1"),
        ({"prompt": "a", "duration": True}, "duration", "got True; allowed: 5, 10"),
        ({"prompt": "a", "duration": 7}, "duration", "got '7'; allowed: 5, 10"),
        ({"prompt": "a", "sound": "loud"}, "sound", "got 'loud'; allowed: on, off"),
        ({"prompt": "a", "cfg_scale": 1.01}, "cfg_scale", "Invalid cfg_scale: got 1.01; allowed: a number from 0 to 1"),
        ({"prompt": "a", "cfg_scale": False}, "cfg_scale", "allowed: a number from 0 to 1"),
        (
            {"prompt": "a", "model_name": "kling-v2-master", "cfg_scale": 0.5},
            "cfg_scale",
            "Invalid cfg_scale: is not supported by kling-v2-master; leave it unset for this model",
        ),
        (
            {"prompt": "a", "model_name": "kling-v1", "sound": "on"},
            "sound",
            "Invalid sound: is not supported by kling-v1; models with generated audio: kling-v2-6, kling-v3",
        ),
        ({"prompt": "a", "external_task_id": " "}, "external_task_id", "must not be empty; allowed: 1 to 128"),
        ({"prompt": "a", "external_task_id": "x" * 129}, "external_task_id", "allowed: at most 128 characters"),
        (
            {"prompt": "a", "callback_url": "http://example.com/x"},
            "callback_url",
            "Invalid callback_url: got 'http://example.com/x'; allowed: an https:// URL (http:// only for localhost), "
            "no spaces, a port up to 65535",
        ),
        ({"prompt": "a", "callback_url": "https:///x"}, "callback_url", "allowed: an https:// URL"),
        ({"prompt": "a", "callback_url": "https://a.example/\x7f"}, "callback_url", "allowed: an https:// URL"),
        ({"prompt": "a", "callback_url": "https://a.example:70000/"}, "callback_url", "a port up to 65535"),
        ({"prompt": "a", "callback_url": "http://localhost:70000/"}, "callback_url", "a port up to 65535"),
        ({"prompt": "a", "callback_url": "http://127.0.0.1/\t"}, "callback_url", "no spaces"),
        ({"prompt": "a", "callback_url": "x" * 2049}, "callback_url", "at most 2048 characters"),
        ({"prompt": "a", "callback_url": " "}, "callback_url", "must not be empty"),
    ],
)
def test_each_bad_field_is_refused_naming_it_and_what_is_allowed(fields, field, text):
    error = _refused(build_text2video_request, fields)
    assert error.field == field and text in str(error)


def test_a_model_named_by_the_connection_is_accepted_and_may_take_sound():
    body = build_text2video_request({"prompt": "a", "model_name": "kling-v9", "sound": "on"}, extra_models=["kling-v9"])
    assert body == {"prompt": "a", "model_name": "kling-v9", "sound": "on"}


def test_a_choice_given_as_a_str_enum_is_taken_as_its_text():
    import enum

    from airflow_provider_kling.contract import check_choice

    class Policy(str, enum.Enum):
        FAIL = "fail"

    chosen = check_choice("on_unknown_submission", Policy.FAIL, ("resubmit", "fail"))
    assert chosen == "fail" and type(chosen) is str and str(chosen) == "fail"


def test_a_bad_value_is_shown_whole_up_to_60_characters():
    assert f"got '{'m' * 58}'; allowed" in str(_refused(build_text2video_request, {"prompt": "a", "mode": "m" * 58}))
    assert f"got '{'m' * 49}... (59 chars)" in str(
        _refused(build_text2video_request, {"prompt": "a", "mode": "m" * 59})
    )


def test_a_long_bad_value_is_shown_cut_with_its_length():
    error = _refused(build_text2video_request, {"prompt": "a", "mode": "m" * 100})
    assert f"got '{'m' * 49}... (100 chars); allowed: std, pro" in str(error)
    error = _refused(build_text2video_request, {"prompt": "a", "cfg_scale": list(range(40))})
    assert "got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,... (40 items); allowed" in str(error)

    class Opaque:  # no length to show
        def __repr__(self) -> str:
            return "o" * 80

    error = _refused(build_text2video_request, {"prompt": "a", "cfg_scale": Opaque()})
    assert f"got {'o' * 50}...; allowed" in str(error)


@pytest.mark.parametrize(
    ("value", "field", "text"),
    [
        ([1], "camera_control", 'must be a dict like {"type": "simple", "config": {...}}, got [1]'),
        ({"type": "simple", "config": {}, "x": 1}, "camera_control", "unknown keys ['x']; allowed keys: type, config"),
        ({"type": "spin"}, "camera_control.type", "got 'spin'; allowed: simple, down_back, forward_up"),
        (
            {"type": "forward_up", "config": {}},
            "camera_control.config",
            "is only allowed with type 'simple', not 'forward_up'",
        ),
        (
            {"type": "simple", "config": 3},
            "camera_control.config",
            "is required with type 'simple': a dict with keys horizontal, vertical, pan, tilt, roll, zoom",
        ),
        (
            {"type": "simple", "config": {"dolly": 1, "arc": 2}},
            "camera_control.config",
            "unknown keys ['arc', 'dolly']; allowed: horizontal, vertical, pan, tilt, roll, zoom",
        ),
        (
            {"type": "simple", "config": {"pan": 10.5}},
            "camera_control.config.pan",
            "got 10.5; allowed: a number from -10 to 10",
        ),
        ({"type": "simple", "config": {"roll": True}}, "camera_control.config.roll", "a number from -10 to 10"),
        ({"type": "simple", "config": {"zoom": -10.5}}, "camera_control.config.zoom", "got -10.5; allowed"),
        ({"type": "simple", "config": {"tilt": "1"}}, "camera_control.config.tilt", "a number from -10 to 10"),
        (
            {"type": "simple", "config": {"horizontal": 0}},
            "camera_control.config",
            "exactly one of horizontal, vertical, pan, tilt, roll, zoom must be non-zero, got 0 (none)",
        ),
        ({"type": "simple", "config": {"pan": 1, "zoom": -1}}, "camera_control.config", "got 2 (pan, zoom)"),
    ],
)
def test_each_bad_camera_control_is_refused_naming_the_key(value, field, text):
    error = _refused(check_camera_control, value)
    assert error.field == field and text in str(error)


@pytest.mark.parametrize("axis", ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"])
def test_a_simple_camera_moves_on_the_one_axis_given(axis):
    config = check_camera_control({"type": "simple", "config": {axis: 10}})["config"]
    assert config[axis] == 10 and sum(abs(amount) for amount in config.values()) == 10 and len(config) == 6


# Operator arguments.
@pytest.mark.parametrize("value", [0.5, 1, MAX_SECONDS, 1e-9])
def test_seconds_above_zero_up_to_thirty_days_are_accepted(value):
    assert check_seconds("timeout", value) == value


@pytest.mark.parametrize("value", [0, -1, MAX_SECONDS + 0.5, "10", True, None])
def test_other_seconds_are_refused_naming_the_argument(value):
    error = _refused(check_seconds, "timeout", value)
    assert error.field == "timeout"
    assert f"Invalid timeout: got {value!r}; allowed: a number of seconds above 0, at most 2592000 (30 days)" == str(
        error
    )


def test_a_flag_must_be_a_bool():
    assert check_flag("deferrable", False) is False
    assert str(_refused(check_flag, "deferrable", "true")) == "Invalid deferrable: got 'true'; allowed: True or False"


@pytest.mark.parametrize("value", ["", "  ", None, 3])
def test_an_id_must_be_a_non_blank_string(value):
    error = _refused(check_id, "kling_task_id", value, "a Kling task id")
    assert str(error) == f"Invalid kling_task_id: got {value!r}; allowed: a Kling task id"
    assert check_id("kling_task_id", " 1 ", "x") == " 1 "


def test_a_connection_id_is_named_as_one():
    assert check_conn_id("kling_other") == "kling_other"
    assert str(_refused(check_conn_id, "")) == (
        "Invalid kling_conn_id: got ''; allowed: the id of a connection of type kling"
    )


# Reading a task.
def test_only_videos_with_a_web_url_are_kept():
    videos = [
        {"url": "https://cdn.example/a.mp4"},
        {"url": "http://cdn.example/b.mp4"},
        {"url": "javascript:alert(1)"},
        {"url": 3},
        {},
        "https://cdn.example/c.mp4",
    ]
    assert task_videos({"task_result": {"videos": videos}}) == videos[:2]
    assert parse_task({"task_id": "1", "task_result": {"videos": videos, "n": 1}})["task_result"] == {
        "videos": videos[:2],
        "n": 1,
    }


@pytest.mark.parametrize("task", [{}, {"task_result": None}, {"task_result": []}, {"task_result": {"videos": {}}}])
def test_a_task_without_a_video_list_has_no_videos(task):
    assert task_videos(task) == []


def test_a_success_without_a_video_says_which_task():
    with pytest.raises(
        KlingUnexpectedAnswerError, match=r"^Kling says task 77 succeeded, but it names no video or audio URL$"
    ):
        succeeded_result_urls({"task_id": "77", "task_status": "succeed", "task_result": {"videos": []}})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"task_id": 880001, "task_status": "submitted"}, {"task_id": "880001", "task_status": "submitted"}),
        ({"id": "task_x"}, {"id": "task_x", "task_id": "task_x", "task_status": "submitted"}),
        ({"task_id": "1", "task_status": "processing"}, {"task_id": "1", "task_status": "processing"}),
        (
            {"task_id": "1", "task_status": "succeed", "data": {"x": 1}},
            {"task_id": "1", "task_status": "succeed", "data": {"x": 1}},
        ),
        (
            {"task_id": "relay", "status": "SUCCESS", "data": {"task_id": "inner", "task_status": "processing"}},
            {"task_id": "inner", "task_status": "processing"},
        ),
        ({"id": "relay_id", "status": "QUEUED", "data": {}}, {"task_id": "relay_id", "task_status": "submitted"}),
        ({"task_id": "r", "status": "PAUSED", "data": {}}, {"task_id": "r", "task_status": "PAUSED"}),
        ({"task_id": "r", "data": {}}, {"task_id": "r", "task_status": "submitted"}),
        (
            {"task_id": "r", "status": "FAILURE", "fail_reason": "relay", "data": {"task_status_msg": "kling"}},
            {"task_id": "r", "task_status": "failed", "task_status_msg": "kling"},
        ),
        ({"task_id": "r", "status": "FAILURE", "data": {}}, {"task_id": "r", "task_status": "failed"}),
    ],
)
def test_each_task_shape_reads_as_klings_task(data, expected):
    assert parse_task(data, submitted=True) == expected


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ([], "The answer carries no task: []"),
        ({"task_status": "submitted"}, "no usable task id (got None): {'task_status': 'submitted'}"),
        ({"task_id": "../x"}, "no usable task id (got '../x'): {'task_id': '../x'}"),
        ({"task_id": True}, "no usable task id (got True)"),
    ],
)
def test_an_answer_without_a_usable_task_id_is_unexpected(data, text):
    with pytest.raises(KlingUnexpectedAnswerError) as raised:
        parse_task(data)
    assert text in str(raised.value)


# Reading an answer: the details an error keeps, and the key never in them.
def _raised(status: int, body: str | bytes, headers: dict[str, str] | None = None, **kwargs) -> KlingError:
    with pytest.raises(KlingError) as raised:
        parse_response(status, headers or {}, body if isinstance(body, bytes) else body.encode(), **kwargs)
    return raised.value


def _relay(code: object, message: object) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def test_an_error_without_a_key_to_scrub_is_still_an_error():
    error = _raised(400, json.dumps({"code": 1201, "message": "bad"}))
    assert type(error) is KlingInvalidRequestError and error.request_id is None and "Kling error: bad" in str(error)


def test_the_key_is_replaced_wherever_the_answer_puts_it():
    for status, body in [
        (400, json.dumps({"code": 1201, "message": "m", "request_id": f"r-{SECRET}"})),
        (401, _relay("", f"bad key {SECRET} here")),
        (401, _relay(SECRET, "no")),
        (400, json.dumps({"code": "task_failed", "message": SECRET})),
        (400, json.dumps({"code": SECRET, "message": "x"})),
        (200, json.dumps({"code": 0, "message": SECRET})),
        (500, json.dumps({"message": SECRET})),
        (429, json.dumps({"code": "fail_to_fetch_task", "message": json.dumps({"code": 1302, "message": SECRET})})),
    ]:
        error = _raised(status, body, secret=SECRET)
        shown = f"{error} {error.code} {error.request_id}"
        assert SECRET not in shown and "***" in shown and "X***" not in shown and "***X" not in shown, body


def test_an_unknown_kling_code_without_a_message_says_so():
    assert "Kling error: unknown error" in str(_raised(400, json.dumps({"code": 9999})))


def test_only_auth_codes_get_the_key_advice():
    assert str(_raised(401, json.dumps({"code": 1000}))).startswith("The API key was refused")
    assert "The API key was refused" not in str(_raised(400, json.dumps({"code": 1201})))


@pytest.mark.parametrize(("request_id", "kept"), [(None, None), ("", None), ("r" * 100, "r" * 80), (7, "7")])
def test_a_request_id_is_kept_short_and_absent_when_missing(request_id, kept):
    assert _raised(400, json.dumps({"code": 1201, "request_id": request_id})).request_id == kept


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code"),
    [
        (400, json.dumps({"code": "task_not_exist", "message": "x"}), KlingTaskNotFoundError, "task_not_exist"),
        (503, _relay("model_not_found", "x"), KlingAccountError, "model_not_found"),
        (429, _relay("insufficient_user_quota", "quota"), KlingAccountError, "insufficient_user_quota"),
        (403, _relay("", "forbidden"), KlingAuthError, None),
        (400, _relay("weird", "no"), KlingPermanentError, "weird"),
        (418, _relay(429, "teapot"), KlingPermanentError, None),
        (500, json.dumps({"code": "strange", "message": "x"}), KlingTransientError, "strange"),
    ],
)
def test_a_gateway_error_keeps_its_status_and_code(status, body, error_class, code):
    error = _raised(status, body)
    assert type(error) is error_class and (error.status, error.code) == (status, code)


def test_a_gateway_error_with_a_code_and_no_message_names_the_code():
    assert str(_raised(400, json.dumps({"code": "strange_new_code"}))).startswith("CometAPI error: strange_new_code")
    assert str(_raised(400, _relay("", None))).startswith("CometAPI error: no message (HTTP=400)")


def test_a_gateway_429_keeps_its_retry_after():
    for body in (_relay("", "slow down"), json.dumps({"code": "busy", "message": "slow down"})):
        error = _raised(429, body, {"Retry-After": "7"})
        assert isinstance(error, KlingTransientError) and error.retry_after == 7.0 and error.status == 429


def test_a_wrapped_kling_answer_keeps_the_status_and_retry_after():
    body = json.dumps({"code": "fail_to_fetch_task", "message": json.dumps({"code": 1302, "message": "slow"})})
    error = _raised(429, body, {"Retry-After": "4"})
    assert isinstance(error, KlingTransientError) and (error.status, error.code, error.retry_after) == (429, 1302, 4.0)


@pytest.mark.parametrize("code", ["", "0", "success", "SUCCEED", "Success"])
def test_each_string_code_that_means_success_gives_the_data(code):
    assert parse_response(200, {}, json.dumps({"code": code, "data": {"task_id": "1"}}).encode()) == {"task_id": "1"}


@pytest.mark.parametrize(
    ("status", "body", "error_class", "text"),
    [
        (500, {"message": "boom"}, KlingTransientError, "Error from Kling: boom"),
        (400, {"detail": "x"}, KlingPermanentError, 'Error from Kling: {"detail": "x"}'),
        (300, {"data": {"task_id": "1"}}, KlingPermanentError, "Error from Kling"),
        (429, {"message": "slow"}, KlingTransientError, "Error from Kling: slow"),
    ],
)
def test_a_json_error_without_a_code_follows_the_http_status(status, body, error_class, text):
    error = _raised(status, json.dumps(body), {"Retry-After": "2"})
    assert type(error) is error_class and text in str(error) and error.status == status and error.code is None
    if error_class is KlingTransientError:
        assert error.retry_after == 2.0
        assert error.ambiguous is (status != 429)


@pytest.mark.parametrize(
    ("status", "body", "error_class", "text"),
    [
        (200, b"\n  {truncated", KlingTransientError, "Unreadable answer from Kling (HTTP 200): '{truncated'"),
        (200, b"[1, 2]", KlingTransientError, "Unreadable answer from Kling (HTTP 200): '[1, 2]'"),
        (200, b"", KlingTransientError, "Unreadable answer from Kling (HTTP 200): ''"),
        (400, b"<html>bad request</html>", KlingPermanentError, "Unreadable answer from Kling (HTTP 400)"),
        (400, b"", KlingPermanentError, "Unreadable answer from Kling (HTTP 400): ''"),
        (300, b"", KlingPermanentError, "(HTTP 300)"),
        (405, b"", KlingConfigurationError, "This is not the Kling API"),
        (404, b"[]", KlingConfigurationError, "This is not the Kling API"),
        (502, b"\xff\xfe<html>502 Bad Gateway</html>", KlingTransientError, "502 Bad Gateway"),
        (200, json.dumps({"code": 0, "message": "ok"}).encode(), KlingTransientError, "Answer from Kling has no data"),
    ],
)
def test_each_unreadable_answer_becomes_its_error(status, body, error_class, text):
    error = _raised(status, body)
    assert type(error) is error_class and text in str(error) and error.status == status


def test_a_configuration_error_names_the_url_asked():
    url = "https://example.com/api/kling/v1/videos/text2video/1"
    assert f"(asked {url})" in str(_raised(200, b"<html>app</html>", url=url))
    assert "(asked the API)" in str(_raised(200, b"<html>app</html>"))


def test_a_long_answer_is_cut_at_200_characters():
    text = str(_raised(502, b"<p>" + b"x" * 297))
    assert f"'<p>{'x' * 197}...'" in text
    assert "...'" not in str(_raised(502, b"<p>" + b"x" * 197))
    assert f"'<p>{'x' * 197}...'" in str(_raised(502, b"<p>" + b"x" * 198))  # 201 characters: cut


# The newer fields, and what differs by backend and model.
CUSTOM = {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize"}


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        (
            {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", "multi_prompt": TWO_SHOTS},
            {
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": TWO_SHOTS_SENT,
                "duration": "5",
            },
        ),
        (
            {
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "customize",
                "duration": 5,
                "multi_prompt": [{"index": 1, **TWO_SHOTS[0]}, {"index": 2, **TWO_SHOTS[1]}],
            },
            {
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": TWO_SHOTS_SENT,
                "duration": "5",
            },
        ),
        (
            {"prompt": "a fox", "model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence"},
            {"prompt": "a fox", "model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence"},
        ),
        (
            {"prompt": "a fox", "model_name": "kling-v9", "multi_shot": True, "shot_type": "intelligence"},
            {"prompt": "a fox", "model_name": "kling-v9", "multi_shot": True, "shot_type": "intelligence"},
        ),
        ({"prompt": "a fox", "multi_shot": False}, {"prompt": "a fox", "multi_shot": False}),
        (
            {"prompt": "a fox", "watermark_info": {"enabled": True}},
            {"prompt": "a fox", "watermark_info": {"enabled": True}},
        ),
        (
            {"prompt": "a fox", "model_name": "kling-v2-6", "mode": "pro", "sound": "on"},
            {"prompt": "a fox", "model_name": "kling-v2-6", "mode": "pro", "sound": "on"},
        ),
        (
            {"prompt": "a fox", "model_name": "kling-v2-6", "sound": "off"},
            {"prompt": "a fox", "model_name": "kling-v2-6", "sound": "off"},
        ),
    ],
)
def test_each_newer_field_lands_in_the_body(fields, body):
    assert build_text2video_request(fields, extra_models=["kling-v9"]) == body


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"prompt": "a", "multi_shot": 1}, "multi_shot", "Invalid multi_shot: got 1; allowed: True or False"),
        (
            {"prompt": "a", "multi_shot": True, "shot_type": "intelligence"},
            "multi_shot",
            "is not supported by the default model; models with several shots: kling-v3 (set model_name)",
        ),
        (
            {"prompt": "a", "model_name": "kling-v2-6", "multi_shot": True, "shot_type": "intelligence"},
            "multi_shot",
            "is not supported by kling-v2-6",
        ),
        (
            {"prompt": "a", "model_name": "kling-v3", "multi_shot": True},
            "shot_type",
            "is required with multi_shot=True; allowed: customize, intelligence",
        ),
        (
            {"prompt": "a", "model_name": "kling-v3", "multi_shot": True, "shot_type": "auto"},
            "shot_type",
            "got 'auto'; allowed: customize, intelligence",
        ),
        ({"prompt": "a", "shot_type": "customize"}, "shot_type", "is only used with multi_shot=True"),
        (
            {"prompt": "a", "multi_shot": False, "multi_prompt": TWO_SHOTS},
            "multi_prompt",
            "is only used with multi_shot=True",
        ),
        (
            {
                "prompt": "a",
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "intelligence",
                "multi_prompt": TWO_SHOTS,
            },
            "multi_prompt",
            "is only used with shot_type='customize'",
        ),
        ({"model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence"}, "prompt", "is required"),
        (
            {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize"},
            "multi_prompt",
            "is required with shot_type='customize': 1 to 6 shots",
        ),
        (
            {
                "prompt": "a",
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": TWO_SHOTS,
            },
            "prompt",
            "is not used with shot_type='customize'",
        ),
        (
            {**CUSTOM, "multi_prompt": []},
            "multi_prompt",
            'got []; allowed: a list of 1 to 6 shots like {"prompt": "...", "duration": 5}',
        ),
        ({**CUSTOM, "multi_prompt": [TWO_SHOTS[0]] * 7}, "multi_prompt", "allowed: a list of 1 to 6 shots"),
        ({**CUSTOM, "multi_prompt": "a fox"}, "multi_prompt", "allowed: a list of 1 to 6 shots"),
        (
            {**CUSTOM, "multi_prompt": [{"prompt": "a"}]},
            "multi_prompt[0]",
            "allowed: a dict with keys prompt and duration",
        ),
        (
            {**CUSTOM, "multi_prompt": [{"prompt": "a", "duration": 1, "camera": 1}]},
            "multi_prompt[0]",
            "keys prompt and duration",
        ),
        (
            {**CUSTOM, "multi_prompt": ["a fox"]},
            "multi_prompt[0]",
            "got 'a fox'; allowed: a dict with keys prompt and duration (and index)",
        ),
        (
            {**CUSTOM, "multi_prompt": [TWO_SHOTS[0], {"index": 3, **TWO_SHOTS[1]}]},
            "multi_prompt[1].index",
            "got 3; allowed: 2 (shots are numbered from 1, in order)",
        ),
        (
            {**CUSTOM, "multi_prompt": [{"prompt": "x" * 513, "duration": 5}]},
            "multi_prompt[0].prompt",
            "at most 512 characters",
        ),
        ({**CUSTOM, "multi_prompt": [{"prompt": " ", "duration": 5}]}, "multi_prompt[0].prompt", "must not be empty"),
        (
            {**CUSTOM, "multi_prompt": [{"prompt": "a", "duration": 0}]},
            "multi_prompt[0].duration",
            "got '0'; allowed: 1, 2, 3",
        ),
        ({**CUSTOM, "multi_prompt": [{"prompt": "a", "duration": 16}]}, "multi_prompt[0].duration", "got '16'"),
        ({**CUSTOM, "multi_prompt": [{"prompt": "a", "duration": 2.5}]}, "multi_prompt[0].duration", "got 2.5"),
        (
            {**CUSTOM, "multi_prompt": TWO_SHOTS, "duration": 10},
            "duration",
            "Invalid duration: is 10 s, but the shots in multi_prompt last 5 s: they must match",
        ),
        ({**CUSTOM, "multi_prompt": [{"prompt": "a", "duration": 4}]}, "duration", "got '4'; allowed: 5, 10"),
        (
            {"prompt": "a", "model_name": "kling-v2-6", "sound": "on"},
            "sound",
            "Invalid sound: 'on' needs mode='pro' with kling-v2-6 (its std videos are silent)",
        ),
        ({"prompt": "a", "model_name": "kling-v2-6", "mode": "std", "sound": "on"}, "sound", "needs mode='pro'"),
        ({"prompt": "a", "watermark_info": {"enabled": True, "url": "x"}}, "watermark_info", "(no custom watermark)"),
        ({"prompt": "a", "watermark_info": {}}, "watermark_info", "got {}; allowed"),
    ],
)
def test_each_bad_newer_field_is_refused_naming_it(fields, field, text):
    error = _refused(build_text2video_request, fields)
    assert error.field == field and text in str(error)


@pytest.mark.parametrize(
    ("backend", "prompt", "negative", "durations"),
    [(COMETAPI, 500, 200, ["5", "10"]), (KLING, 2500, 2500, [str(n) for n in range(3, 16)])],
)
def test_each_backend_has_its_own_limits(backend, prompt, negative, durations):
    build = functools.partial(build_text2video_request, backend=backend)
    assert build({"prompt": "p" * prompt, "negative_prompt": "n" * negative})["prompt"] == "p" * prompt
    assert _refused(build, {"prompt": "p" * (prompt + 1)}).field == "prompt"
    assert f"allowed: at most {negative} characters" in str(
        _refused(build, {"prompt": "a", "negative_prompt": "n" * (negative + 1)})
    )
    assert [
        d for d in map(str, range(0, 20)) if _accepts(build, {"prompt": "a", "model_name": "kling-v3", "duration": d})
    ] == durations
    assert [
        d for d in map(str, range(0, 20)) if _accepts(build, {"prompt": "a", "model_name": "kling-v2-6", "duration": d})
    ] == ["5", "10"]
    assert [d for d in map(str, range(0, 20)) if _accepts(build, {"prompt": "a", "duration": d})] == ["5", "10"]


def _accepts(build, fields) -> bool:
    try:
        build(fields)
    except KlingValidationError:
        return False
    return True


def test_six_shots_are_allowed():
    shots = [{"prompt": f"shot {n}", "duration": 1} for n in range(6)]
    fields = {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", "multi_prompt": shots}
    assert [shot["index"] for shot in build_text2video_request(fields, backend=KLING)["multi_prompt"]] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_a_multi_shot_on_klings_own_api_may_last_up_to_15_seconds():
    shots = [{"prompt": f"shot {n}", "duration": 3} for n in range(5)]
    fields = {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", "multi_prompt": shots}
    assert build_text2video_request(fields, backend=KLING)["duration"] == "15"
    assert _refused(build_text2video_request, fields).field == "duration"  # CometAPI documents 5 or 10


def test_extra_fields_are_sent_as_given_after_the_known_ones():
    body = build_text2video_request({"prompt": "a"}, extra_fields={"resolution": "4k", "voice_list": [{"id": 1}]})
    assert body == {"prompt": "a", "resolution": "4k", "voice_list": [{"id": 1}]}
    assert build_text2video_request({"prompt": "a"}, extra_fields={}) == {"prompt": "a"}


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({"mode": "pro", "prompt": "b"}, "holds mode, prompt; allowed: only fields without their own argument"),
        ({"": 1}, "allowed: a dict of field names to JSON values"),
        ({1: 1}, "allowed: a dict of field names to JSON values"),
        ("resolution=4k", "allowed: a dict of field names to JSON values"),
        ({"x": float("nan")}, "allowed: JSON values"),
        ({"x": object()}, "allowed: JSON values"),
    ],
)
def test_bad_extra_fields_are_refused(extra, text):
    error = _refused(build_text2video_request, {"prompt": "a"}, extra_fields=extra)
    assert error.field == "extra_fields" and text in str(error)


def test_a_relay_failure_wrapping_a_kling_success_is_still_an_error_and_retryable():
    wrapped = json.dumps({"code": 0, "message": "SUCCEED", "data": {"task_id": "1"}})
    error = _raised(200, json.dumps({"code": "fail_to_fetch_task", "message": wrapped}), {"Retry-After": "3"})
    assert type(error) is KlingTransientError and (error.code, error.status, error.retry_after) == (
        "fail_to_fetch_task",
        200,
        3.0,
    )
    assert str(error).startswith(f"CometAPI error: {wrapped}")


@pytest.mark.parametrize(
    ("backend", "fields", "says"),
    [
        (
            COMETAPI,
            {"duration": 7},
            "got '7'; allowed: 5, 10 on the cometapi backend with the default model; 3 to 15 s with kling-v3 on the "
            "kling backend",
        ),
        (
            COMETAPI,
            {"duration": 12, "model_name": "kling-v3"},
            "got '12'; allowed: 5, 10 on the cometapi backend with kling-v3; 3 to 15 s with kling-v3 on the kling "
            "backend",
        ),
        (
            KLING,
            {"duration": 16, "model_name": "kling-v3"},
            "got '16'; allowed: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 on the kling backend with kling-v3",
        ),
    ],
)
def test_a_refused_duration_says_which_backend_and_model_allow_what(backend, fields, says):
    with pytest.raises(KlingValidationError) as raised:
        build_text2video_request({"prompt": "a", **fields}, backend=backend)
    assert str(raised.value) == f"Invalid duration: {says}"


def test_an_unknown_model_is_refused_naming_the_connections_extra_models():
    with pytest.raises(KlingValidationError) as raised:
        build_text2video_request({"prompt": "a", "model_name": "kling-v9"})
    assert str(raised.value).endswith("(a newer model: add its name to the connection's extra_models)")
    assert build_text2video_request({"prompt": "a", "model_name": "kling-v9"}, extra_models=["kling-v9"])


def test_a_number_is_an_int_or_float_within_its_inclusive_bounds_never_a_bool():
    assert is_number(0) and is_number(-2.5) and is_number(10**12)
    assert is_number(0.8, 0.8, 2.0) and is_number(2, 0.8, 2.0) and is_number(1.5, 0.8, one_decimal=True)
    assert not is_number(0.79, 0.8, 2.0) and not is_number(2.01, high=2.0)
    assert not is_number(1.25, 0, 2, one_decimal=True) and is_number(1.25, 0, 2)
    for not_a_number in (True, False, "1", None, [1]):
        assert not is_number(not_a_number)
