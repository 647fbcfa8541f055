"""KlingHook and KlingAsyncHook against the sandbox over loopback: wire shape, validation, errors, retries."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from conftest import SECRET_KEY, connection_json

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
from airflow_provider_kling.hooks.kling import KlingAsyncHook, KlingHook
from airflow_provider_kling.sandbox import Fault

SIMPLE_CAMERA = {
    "type": "simple",
    "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 5},
}

VALID_FIELDS = [
    ("negative_prompt", "blurry", "blurry"),
    ("negative_prompt", "x" * 200, "x" * 200),
    ("model_name", "kling-v3", "kling-v3"),
    ("model_name", "kling-v1", "kling-v1"),
    ("cfg_scale", 0, 0),
    ("cfg_scale", 0.5, 0.5),
    ("cfg_scale", 1, 1),
    ("mode", "std", "std"),
    ("mode", "pro", "pro"),
    ("aspect_ratio", "16:9", "16:9"),
    ("aspect_ratio", "9:16", "9:16"),
    ("aspect_ratio", "1:1", "1:1"),
    ("duration", 5, "5"),
    ("duration", 10, "10"),
    ("duration", "10", "10"),
    ("sound", "on", "on"),
    ("sound", "off", "off"),
    ("camera_control", {"type": "down_back"}, {"type": "down_back"}),
    ("camera_control", {"type": "left_turn_forward"}, {"type": "left_turn_forward"}),
    ("camera_control", {"type": "simple", "config": {"zoom": 5}}, SIMPLE_CAMERA),
    ("callback_url", "https://example.com/hook", "https://example.com/hook"),
    ("external_task_id", "my-id-1", "my-id-1"),
]


@pytest.mark.parametrize(("name", "value", "wire"), VALID_FIELDS)
def test_each_valid_field_reaches_the_wire_as_the_contract_says(sandbox, name, value, wire):
    task = KlingHook().create_text2video("a red fox in snow", **{name: value})
    assert sandbox.submissions == [{"prompt": "a red fox in snow", name: wire}]
    assert task["task_status"] == "submitted"
    assert task["task_id"].isdigit()


def test_only_the_fields_given_are_sent(sandbox):
    KlingHook().create_text2video("a cat", negative_prompt=None, mode=None)
    assert sandbox.submissions == [{"prompt": "a cat"}]


INVALID_FIELDS = [
    ("prompt", "", "1 to 500"),
    ("prompt", "   ", "1 to 500"),
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
    ("external_task_id", "", "must not be empty"),
    ("external_task_id", 123, "must be a string"),
    ("external_task_id", "x" * 129, "at most 128"),
    ("resolution", "1080p", "is not a text-to-video field"),
]


@pytest.mark.parametrize(("name", "value", "allowed"), INVALID_FIELDS)
def test_each_invalid_value_is_refused_before_any_request(sandbox, name, value, allowed):
    fields = {"prompt": "a cat", name: value}
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().create_text2video(**fields)
    assert raised.value.field.startswith(name)
    assert name in str(raised.value)
    assert allowed in str(raised.value)
    assert isinstance(raised.value, KlingPermanentError)
    assert sandbox.requests == []


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("kling-v2-master", {"cfg_scale": 0.5}, "cfg_scale"),
        ("kling-v2-6", {"cfg_scale": 0.5}, "cfg_scale"),
        ("kling-v1-6", {"sound": "on"}, "sound"),
        ("kling-v2-5-turbo", {"sound": "off"}, "sound"),
    ],
)
def test_model_gating_is_checked_before_any_request(sandbox, model, fields, field):
    with pytest.raises(KlingValidationError, match=f"not supported by {model}") as raised:
        KlingHook().create_text2video("a cat", model_name=model, **fields)
    assert raised.value.field == field
    assert sandbox.requests == []


def test_a_new_model_can_be_allowed_through_the_connection(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox.url, extra_models="kling-v9, kling-v10"))
    hook = KlingHook()
    assert hook.validate_text2video("a cat", model_name="kling-v9") == {"prompt": "a cat", "model_name": "kling-v9"}
    assert sandbox.requests == []


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


@pytest.mark.parametrize(("status", "code", "error_class", "retried"), ERROR_TABLE)
def test_each_kling_error_code_maps_to_its_exception_and_retry_behaviour(sandbox, status, code, error_class, retried):
    sandbox.inject(Fault(status=status, code=code, message=f"boom {code}", count=10))
    hook = KlingHook(retry_limit=2, retry_delay=0)
    with pytest.raises(error_class) as raised:
        hook.get_task("1")
    error = raised.value
    assert (error.status, error.code) == (status, code)
    assert f"boom {code}" in str(error) and f"HTTP={status}" in str(error) and f"code={code}" in str(error)
    assert "request_id=" in str(error)
    assert len(sandbox.requests) == (3 if retried else 1)
    # A permanent error fails the Airflow task without using its retries; a transient one lets Airflow retry.
    assert error.retryable is retried
    assert isinstance(error, KlingPermanentError) is not retried


@pytest.mark.parametrize(
    ("fault", "error_class", "retried"),
    [
        (Fault(status=401, code=None, message="invalid token (request id: x)"), KlingAuthError, False),
        (Fault(status=403, code=None, message="forbidden"), KlingAuthError, False),
        (Fault(status=400, code=None, message="bad"), KlingPermanentError, False),
        (Fault(status=429, code=None, message="slow down"), KlingTransientError, True),
        (Fault(status=524, code=None, message="origin timeout"), KlingTransientError, True),
        (Fault(status=502, body="<html><body>502 Bad Gateway</body></html>"), KlingTransientError, True),
        (Fault(status=200, body="{not json"), KlingTransientError, True),
        (Fault(status=404, body="Not Found"), KlingPermanentError, False),
    ],
)
def test_cometapi_envelope_and_unparseable_answers(sandbox, fault, error_class, retried):
    fault.count = 10
    sandbox.inject(fault)
    with pytest.raises(error_class) as raised:
        KlingHook(retry_limit=1, retry_delay=0).get_task("1")
    assert f"HTTP={fault.status}" in str(raised.value)
    assert len(sandbox.requests) == (2 if retried else 1)


def test_transient_errors_are_retried_until_success(sandbox):
    task = KlingHook().create_text2video("a cat", external_task_id="t1")
    sandbox.inject(
        Fault(status=503, code=5001), Fault(status=500, code=5000), Fault(status=502, body="<html>502</html>")
    )
    assert KlingHook(retry_limit=3, retry_delay=0).get_task(task["task_id"])["task_id"] == task["task_id"]
    assert sandbox.stats()["faults_served"] == {"503/5001": 1, "500/5000": 1, "502/raw": 1}


def test_retry_after_is_honoured(sandbox):
    sandbox.inject(Fault(status=429, code=1303, retry_after="1"))
    hook = KlingHook(retry_limit=2, retry_delay=0)
    started = time.monotonic()
    with pytest.raises(KlingTaskNotFoundError):
        hook.get_task("1")
    assert time.monotonic() - started >= 0.95
    assert len(sandbox.requests) == 2


def test_retry_budget_is_bounded(sandbox):
    sandbox.inject(Fault(status=429, code=1302, count=100))
    with pytest.raises(KlingTransientError, match="code=1302"):
        KlingHook(retry_limit=3, retry_delay=0).get_task("1")
    assert len(sandbox.requests) == 4


def test_a_connection_refused_is_transient_and_retried(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json("http://127.0.0.1:9"))
    with pytest.raises(KlingTransientError, match=r"Could not get an answer from Kling at http://127\.0\.0\.1:9"):
        KlingHook(retry_limit=1, retry_delay=0).get_task("1")


def test_a_slow_answer_times_out_as_transient(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox.url, timeout=0.2))
    sandbox.inject(Fault(status=0, delay=0.5))
    task = KlingHook(retry_limit=1, retry_delay=0).create_text2video("a cat", external_task_id="slow-1")
    assert task["task_info"] == {"external_task_id": "slow-1"}
    assert sandbox.stats()["faults_served"] == {"delay": 1}
    time.sleep(0.5)  # the slow first submission lands late and is refused: its external_task_id is taken
    assert len(sandbox.tasks) == 1
    assert len(sandbox.submissions) == 2


def test_a_lost_submit_answer_is_found_by_external_id_not_sent_again(sandbox):
    sandbox.inject(Fault(drop=True, method="POST"))
    task = KlingHook(retry_limit=2, retry_delay=0).create_text2video("a cat", external_task_id="lost-1")
    assert len(sandbox.tasks) == 1
    assert len(sandbox.submissions) == 1
    assert task["task_id"] == next(iter(sandbox.tasks))


def test_a_lost_submit_answer_without_external_id_is_not_sent_again(sandbox):
    sandbox.inject(Fault(drop=True, method="POST"))
    with pytest.raises(KlingError, match="outcome is unknown") as raised:
        KlingHook(retry_limit=2, retry_delay=0).create_text2video("a cat")
    assert not isinstance(raised.value, KlingTransientError)
    assert len(sandbox.submissions) == 1


def test_a_refused_submission_is_sent_again(sandbox):
    sandbox.inject(Fault(status=429, code=1303, method="POST"))
    KlingHook(retry_limit=2, retry_delay=0).create_text2video("a cat")
    assert sandbox.stats()["requests"] == {"POST": 2}
    assert sandbox.stats()["faults_served"] == {"429/1303": 1}
    assert len(sandbox.tasks) == 1


def test_find_task_by_external_id_and_list(sandbox):
    hook = KlingHook()
    first = hook.create_text2video("one", external_task_id="ext-a")
    second = hook.create_text2video("two")
    assert hook.find_task("ext-a")["task_id"] == first["task_id"]
    assert hook.find_task("ext-missing") is None
    assert hook.get_task("ext-a")["task_id"] == first["task_id"]
    assert [task["task_id"] for task in hook.list_tasks()] == [second["task_id"], first["task_id"]]
    with pytest.raises(KlingValidationError, match="page_size"):
        hook.list_tasks(page_size=501)


def test_tasks_move_to_succeed_with_a_playable_video(sandbox):
    hook = KlingHook()
    task = hook.create_text2video("a cat")
    assert task["task_status"] == "submitted"
    time.sleep(0.3)
    assert hook.get_task(task["task_id"])["task_status"] == "processing"
    time.sleep(0.4)
    done = hook.get_task(task["task_id"])
    assert done["task_status"] == "succeed"
    url = done["task_result"]["videos"][0]["url"]
    video = hook.get_conn().get(url, timeout=5)
    assert video.content[4:8] == b"ftyp" and len(video.content) > 1000


def test_a_failed_task_says_why(sandbox):
    sandbox.render_seconds = 0.05
    hook = KlingHook()
    task = hook.create_text2video("sandbox:fail a cat")
    time.sleep(0.1)
    failed = hook.get_task(task["task_id"])
    assert failed["task_status"] == "failed"
    assert failed["task_status_msg"]
    assert failed["task_result"] == {}


def test_the_connection_test_tells_a_wrong_key_from_an_unreachable_host(sandbox, monkeypatch):
    assert KlingHook().test_connection()[0] is True
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox.url, key="sk-wrong"))
    ok, message = KlingHook().test_connection()
    assert not ok and "refused" in message and "sk-wrong" not in message
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json("http://127.0.0.1:9"))
    ok, message = KlingHook(retry_limit=0).test_connection()
    assert not ok and "could not be reached" in message


@pytest.mark.parametrize(
    ("conn", "error_class", "text"),
    [
        ({"conn_type": "kling", "host": "http://127.0.0.1:9"}, KlingAuthError, "has no API key"),
        ({"conn_type": "kling", "host": "ftp://example.com", "password": "k"}, KlingValidationError, "host"),
        (
            {"conn_type": "kling", "password": "k", "extra": {"timeout": "soon"}},
            KlingValidationError,
            "extra 'timeout'",
        ),
    ],
)
def test_bad_connections_are_refused_before_any_request(sandbox, monkeypatch, conn, error_class, text):
    import json

    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps(conn))
    with pytest.raises(error_class, match=text):
        KlingHook().create_text2video("a cat")
    assert sandbox.requests == []


def test_a_missing_connection_is_named(sandbox):
    with pytest.raises(Exception, match="kling_nowhere"):
        KlingHook("kling_nowhere").create_text2video("a cat")


def test_the_key_never_appears_in_errors_or_logs(sandbox, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    errors = []
    sandbox.inject(
        Fault(status=401, code=None, message=f"invalid token {SECRET_KEY} (request id: 1)"),
        Fault(status=500, code=5000, message=f"echo {SECRET_KEY}", count=2),
        Fault(status=502, body=f"<html>{SECRET_KEY}</html>", count=2),
        Fault(status=400, code=1301, message=f"policy {SECRET_KEY}"),
    )
    hook = KlingHook(retry_limit=1, retry_delay=0)
    for _ in range(4):
        with pytest.raises(KlingError) as raised:
            hook.get_task("1")
        errors.append(raised.value)
    with pytest.raises(KlingValidationError) as raised:
        hook.create_text2video(SECRET_KEY * 20)
    errors.append(raised.value)
    texts = [str(error) for error in errors] + [repr(error.args) for error in errors]
    assert all("***" in text for text in texts[:4])
    captured = capfd.readouterr()
    everything = "\n".join([*texts, caplog.text, captured.out, captured.err])
    assert SECRET_KEY not in everything


def test_the_async_twin_gives_the_same_results(sandbox):
    hook = KlingHook()
    task = hook.create_text2video("a cat", external_task_id="twin-1")
    time.sleep(0.7)

    async def read_all():
        async_hook = KlingAsyncHook()
        try:
            return (
                await async_hook.get_task(task["task_id"]),
                await async_hook.find_task("twin-1"),
                await async_hook.find_task("twin-missing"),
            )
        finally:
            await async_hook.close()

    by_id, by_external_id, missing = asyncio.run(read_all())
    assert by_id == hook.get_task(task["task_id"])
    assert by_external_id == hook.find_task("twin-1")
    assert missing is None


def test_the_async_twin_retries_and_classifies_like_the_sync_hook(sandbox):
    sandbox.inject(Fault(status=429, code=1302, retry_after="0"), Fault(status=401, code=1002))

    async def read():
        async_hook = KlingAsyncHook(retry_limit=2, retry_delay=0)
        try:
            return await async_hook.get_task("1")
        finally:
            await async_hook.close()

    with pytest.raises(KlingAuthError, match="code=1002"):
        asyncio.run(read())
    assert len(sandbox.requests) == 2


def test_async_hooks_in_one_event_loop_share_a_bounded_pool(sandbox):
    from airflow_provider_kling.hooks.kling import ASYNC_CLIENTS, ASYNC_POOL_SIZE

    task = KlingHook().create_text2video("a cat")
    sandbox.latency = 0.05  # keeps polls in flight together, so the pool must grow to its bound
    opened_before = sandbox.connections_opened

    async def poll_together(count: int):
        hooks = [KlingAsyncHook() for _ in range(count)]
        answers = await asyncio.gather(*(hook.get_task(task["task_id"]) for hook in hooks))
        clients = {await hook.get_async_conn() for hook in hooks}
        for hook in hooks[1:]:
            await hook.close()
        still_open = not any(client.is_closed for client in clients)
        await hooks[0].close()
        return answers, clients, still_open, all(client.is_closed for client in clients)

    answers, clients, still_open, closed_at_last = asyncio.run(poll_together(3 * ASYNC_POOL_SIZE))
    assert {answer["task_id"] for answer in answers} == {task["task_id"]}
    assert len(clients) == ASYNC_CLIENTS
    assert ASYNC_CLIENTS < sandbox.connections_opened - opened_before <= ASYNC_POOL_SIZE
    assert still_open and closed_at_last
