"""Fast: each answer the service can give, handed straight to the parser, and what it must become."""

from __future__ import annotations

import json

import pendulum
import pytest
from support.answer_tables import ERROR_TABLE, GATEWAY_TABLE

from airflow_provider_kling.contract import TaskStatus, parse_response, parse_retry_after, parse_task, task_status
from airflow_provider_kling.exceptions import KlingError, KlingPermanentError, KlingTransientError

SECRET = "sk-unit-SECRET-0123456789"


def _raised(status: int, body: str | bytes, headers: dict[str, str] | None = None) -> KlingError:
    with pytest.raises(KlingError) as raised:
        parse_response(status, headers or {}, body if isinstance(body, bytes) else body.encode(), secret=SECRET)
    return raised.value


def _kling(code: int, message: str = "boom") -> str:
    return json.dumps({"code": code, "message": message, "request_id": "req-1"})


@pytest.mark.parametrize(("status", "code", "error_class", "retried"), ERROR_TABLE)
def test_each_kling_code_becomes_its_error(status, code, error_class, retried):
    error = _raised(status, _kling(code))
    assert type(error) is error_class
    assert error.retryable is retried and isinstance(error, KlingPermanentError) is not retried
    assert (error.status, error.code, error.request_id) == (status, code, "req-1")


@pytest.mark.parametrize(("status", "body", "error_class", "retried", "text"), GATEWAY_TABLE)
def test_each_gateway_answer_becomes_its_error(status, body, error_class, retried, text):
    error = _raised(status, body)
    assert type(error) is error_class and error.retryable is retried and text in str(error)


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (500, True),
        (502, True),
        (503, True),
        (599, True),
        (408, True),
        (425, True),
        (429, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (200, False),
    ],
)
def test_an_unknown_kling_code_follows_the_http_status(status, transient):
    error = _raised(status, _kling(9999, "something new"))
    assert isinstance(error, KlingTransientError) is transient
    assert error.retryable is transient and "something new" in str(error)
    if transient:
        assert error.ambiguous  # it may have been processed: a submission is looked up before it is sent again


@pytest.mark.parametrize(
    ("code", "ambiguous"), [(1302, False), (1303, False), (5001, False), (5000, True), (5002, True)]
)
def test_only_codes_that_say_nothing_was_done_are_unambiguous(code, ambiguous):
    error = _raised(500 if code >= 5000 else 429, _kling(code))
    assert isinstance(error, KlingTransientError) and error.ambiguous is ambiguous


@pytest.mark.parametrize(
    ("status", "body", "ambiguous"),
    [
        (429, json.dumps({"error": {"code": "", "message": "slow down"}}), False),
        (429, "<html>Too Many Requests</html>", False),
        (502, json.dumps({"error": {"code": "", "message": "bad gateway"}}), True),
        (200, '{"code": 0, "data": ', True),
        (200, json.dumps({"code": 0, "message": "ok"}), True),
    ],
)
def test_transient_answers_say_whether_the_request_may_have_been_done(status, body, ambiguous):
    error = _raised(status, body)
    assert isinstance(error, KlingTransientError) and error.ambiguous is ambiguous


def test_retry_after_is_read_from_either_header_spelling():
    assert _raised(429, _kling(1302), {"Retry-After": "7"}).retry_after == 7.0
    assert _raised(503, "<html>busy</html>", {"retry-after": "3"}).retry_after == 3.0
    assert _raised(429, _kling(1302)).retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5", 5.0), ("0.5", 0.5), ("-3", 0.0), ("", None), (None, None), ("soon", None), ("inf", None), ("nan", None)],
)
def test_retry_after_values(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date():
    in_a_minute = pendulum.now("UTC").add(seconds=60).format("ddd, DD MMM YYYY HH:mm:ss [GMT]")
    assert 55 <= parse_retry_after(in_a_minute) <= 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_the_key_never_reaches_an_error():
    for status, body in [(400, _kling(1201, f"bad {SECRET}")), (500, f"<html>{SECRET}</html>"), (401, SECRET)]:
        error = _raised(status, body)
        assert SECRET not in str(error) and SECRET not in repr(error.args)


@pytest.mark.parametrize(
    ("body", "data"),
    [
        ({"code": 0, "message": "SUCCEED", "data": {"task_id": "1"}}, {"task_id": "1"}),
        ({"code": "success", "data": {"task_id": "1"}}, {"task_id": "1"}),
        ({"data": []}, []),
        ({"id": "task_x", "object": "video"}, {"id": "task_x", "object": "video"}),
        ({"task_id": "1", "status": "SUCCESS"}, {"task_id": "1", "status": "SUCCESS"}),
    ],
)
def test_a_success_gives_its_data(body, data):
    assert parse_response(200, {}, json.dumps(body).encode()) == data


@pytest.mark.parametrize(
    ("status", "known"),
    [
        ("submitted", TaskStatus.SUBMITTED),
        ("processing", TaskStatus.PROCESSING),
        ("succeed", TaskStatus.SUCCEED),
        ("failed", TaskStatus.FAILED),
        ("paused", None),
        ("SUCCEED", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_a_status_outside_the_known_set_is_unknown_not_an_end(status, known):
    task = parse_task({"task_id": "1", "task_status": status})
    assert task["task_status"] == status and task_status(task) is known


def test_which_statuses_are_still_running():
    assert {status for status in TaskStatus if status.is_active} == {TaskStatus.SUBMITTED, TaskStatus.PROCESSING}


@pytest.mark.parametrize(
    ("relay_status", "status"),
    [("SUCCESS", "succeed"), ("FAILURE", "failed"), ("IN_PROGRESS", "processing"), ("NOT_START", "submitted")],
)
def test_the_relays_envelope_reads_as_klings_task(relay_status, status):
    task = parse_task({"task_id": "task_9", "status": relay_status, "fail_reason": "why", "data": {"task_result": {}}})
    assert task["task_id"] == "task_9" and task["task_status"] == status and task["task_status_msg"] == "why"


def test_a_submission_without_status_is_submitted_and_a_lookup_without_one_is_unknown():
    assert parse_task({"task_id": "1"}, submitted=True)["task_status"] == "submitted"
    assert task_status(parse_task({"task_id": "1"})) is None
