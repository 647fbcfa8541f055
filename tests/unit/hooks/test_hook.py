"""KlingHook and KlingAsyncHook against the sandbox over loopback, in both profiles: wire shape, validation,
errors (Kling's and CometAPI's gateway's, fed as the exact bodies the evidence shows), retries, lost answers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowNotFoundException
from airflow.secrets.environment_variables import EnvironmentVariablesBackend
from conftest import ACCESS_KEY, SECRET_KEY, connection_json
from support.answer_tables import ERROR_TABLE, GATEWAY_TABLE, INVALID_FIELDS, TWO_SHOTS, TWO_SHOTS_SENT

from airflow_provider_kling.exceptions import (
    KlingAuthError,
    KlingConfigurationError,
    KlingError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingSubmissionUnknownError,
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


def test_only_the_fields_given_are_sent(cometapi_sandbox):
    KlingHook().create_text2video("a cat", negative_prompt=None, mode=None)
    assert cometapi_sandbox.submissions == [{"prompt": "a cat"}]


@pytest.mark.parametrize(("name", "value", "allowed"), INVALID_FIELDS)
def test_each_invalid_value_is_refused_before_any_request(cometapi_sandbox, name, value, allowed):
    fields = {"prompt": "a cat", name: value}
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().create_text2video(**fields)
    assert raised.value.field.startswith(name)
    assert name in str(raised.value)
    assert allowed in str(raised.value)
    assert isinstance(raised.value, KlingPermanentError)
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("kling-v2-master", {"cfg_scale": 0.5}, "cfg_scale"),
        ("kling-v2-6", {"cfg_scale": 0.5}, "cfg_scale"),
        ("kling-v1-6", {"sound": "on"}, "sound"),
        ("kling-v2-5-turbo", {"sound": "off"}, "sound"),
    ],
)
def test_model_gating_is_checked_before_any_request(cometapi_sandbox, model, fields, field):
    with pytest.raises(KlingValidationError, match=f"not supported by {model}") as raised:
        KlingHook().create_text2video("a cat", model_name=model, **fields)
    assert raised.value.field == field
    assert cometapi_sandbox.requests == []


def test_a_new_model_can_be_allowed_through_the_connection(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, extra_models="kling-v9, kling-v10")
    )
    hook = KlingHook()
    assert hook.validate_text2video("a cat", model_name="kling-v9") == {"prompt": "a cat", "model_name": "kling-v9"}
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(("status", "code", "error_class", "retried"), ERROR_TABLE)
def test_each_kling_error_code_maps_to_its_exception_and_retry_behaviour(sandbox, status, code, error_class, retried):
    # On the cometapi profile the relay passes Kling's answer on inside {"code": "fail_to_fetch_task", "message": ...}.
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


@pytest.mark.parametrize(("status", "body", "error_class", "retried", "text"), GATEWAY_TABLE)
def test_each_gateway_answer_maps_to_its_exception_and_retry_behaviour(
    cometapi_sandbox, status, body, error_class, retried, text
):
    cometapi_sandbox.inject(Fault(status=status, body=body, count=10))
    with pytest.raises(KlingError) as raised:
        KlingHook(retry_limit=1, retry_delay=0).get_task("1")
    assert type(raised.value) is error_class
    assert text in str(raised.value) and f"HTTP={status}" in str(raised.value)
    assert raised.value.retryable is (error_class in (KlingTransientError,))
    assert len(cometapi_sandbox.requests) == (2 if retried else 1)


def test_an_html_page_names_the_base_url_and_path_and_is_not_retried(cometapi_sandbox, monkeypatch):
    # A base URL with a wrong path: the relay's web UI answers every path it does not route with HTTP 200 HTML.
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(f"{cometapi_sandbox.url}/api", SECRET_KEY))
    with pytest.raises(KlingConfigurationError) as raised:
        KlingHook(retry_limit=3, retry_delay=0).create_text2video("a cat")
    assert f"{cometapi_sandbox.url}/api/kling/v1/videos/text2video" in str(raised.value)
    assert cometapi_sandbox.stats()["requests"] == {"POST": 1}
    assert cometapi_sandbox.tasks == {}


def test_the_relays_own_task_envelope_reads_as_klings(cometapi_sandbox):
    kling_task = {
        "task_id": "880001",
        "task_status": "succeed",
        "task_result": {"videos": [{"id": "v", "url": "https://cdn.example/v.mp4", "duration": "5"}]},
    }
    relay = {
        "code": "success",
        "data": {"task_id": "task_abc", "status": "SUCCESS", "progress": "100%", "fail_reason": "", "data": kling_task},
    }
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps(relay)))
    task = KlingHook().get_task("task_abc")
    assert task["task_id"] == "880001" and task["task_status"] == "succeed"
    assert task["task_result"]["videos"][0]["url"] == "https://cdn.example/v.mp4"
    running = {"code": "success", "data": {"task_id": "task_abc", "status": "IN_PROGRESS", "data": {}}}
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps(running)))
    assert KlingHook().get_task("task_abc")["task_status"] == "processing"


def test_the_relays_openai_style_submit_answer_gives_its_task_id(cometapi_sandbox):
    answer = {"id": "task_Xy12", "task_id": "task_Xy12", "object": "video", "model": "kling-v3", "created_at": 1}
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps(answer), method="POST"))
    task = KlingHook().create_text2video("a cat")
    assert task["task_id"] == "task_Xy12" and task["task_status"] == "submitted"


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


def test_a_connection_refused_is_transient_and_retried(cometapi_sandbox, monkeypatch, caplog, capfd):
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json("http://127.0.0.1:9"))
    with pytest.raises(KlingTransientError, match=r"Could not get an answer from Kling at http://127\.0\.0\.1:9"):
        KlingHook(retry_limit=2, retry_delay=0).get_task("1")
    said = r"Kling request failed \(attempt (\d) of 3\), retrying in"
    # Airflow 2 logs through logging (caplog); Airflow 3 through structlog, to the output once it is configured.
    retried = re.findall(said, caplog.text) or re.findall(said, "".join(capfd.readouterr()))
    assert retried == ["1", "2"]  # then the third attempt fails too, and the error is raised


# A submission whose answer is lost: (profile, policy, external_task_id) -> (outcome, tasks created, POSTs sent).
# Kling's own API is asked by external_task_id; CometAPI cannot be, so the policy decides.
LOST_ANSWER_TABLE = [
    ("kling", "resubmit", "lost-1", "found", 1, 1),
    ("kling", "fail", "lost-1", "found", 1, 1),
    ("kling", "fail", None, "unknown", 1, 1),
    ("kling", "resubmit", None, "created", 2, 2),
    ("cometapi", "resubmit", "lost-1", "created", 2, 2),
    ("cometapi", "resubmit", None, "created", 2, 2),
    ("cometapi", "fail", "lost-1", "unknown", 1, 1),
    ("cometapi", "fail", None, "unknown", 1, 1),
]


@pytest.mark.parametrize(("profile", "policy", "external_id", "outcome", "tasks", "posts"), LOST_ANSWER_TABLE)
def test_a_lost_submit_answer_follows_the_backend_and_the_policy(
    servers, monkeypatch, profile, policy, external_id, outcome, tasks, posts
):
    from conftest import reset_sandbox

    sandbox = reset_sandbox(servers[profile], monkeypatch)
    sandbox.inject(Fault(drop=True, method="POST"))
    hook = KlingHook(retry_limit=2, retry_delay=0)
    fields = {"external_task_id": external_id} if external_id else {}
    if outcome == "unknown":
        with pytest.raises(KlingSubmissionUnknownError, match="may have created a task") as raised:
            hook.create_text2video("a cat", on_unknown_submission=policy, **fields)
        assert raised.value.retryable is False
        assert (
            f"by external_task_id ({external_id or 'none set'}), so it was not sent again. Look for the task in "
            "the service's console and wait on its task_id with KlingTaskSensor, or submit anew "
            "(on_unknown_submission='resubmit' sends again)" in str(raised.value)
        )
    else:
        task = hook.create_text2video("a cat", on_unknown_submission=policy, **fields)
        assert task["task_id"] in sandbox.tasks
        if outcome == "found":
            assert task["task_id"] == next(iter(sandbox.tasks))
    assert len(sandbox.tasks) == tasks
    assert sandbox.stats()["requests"].get("POST") == posts


def test_a_resubmission_refused_after_a_lost_answer_fails_without_paying_again(cometapi_sandbox):
    # Where Kling refuses the duplicate external_task_id (one upstream account), the relay wraps its 1201.
    cometapi_sandbox.inject(
        Fault(drop=True, method="POST"), Fault(status=400, code=1201, message="external_task_id exists", method="POST")
    )
    with pytest.raises(KlingSubmissionUnknownError, match="refused") as raised:
        KlingHook(retry_limit=3, retry_delay=0).create_text2video("a cat", external_task_id="dup-1")
    assert raised.value.external_task_id == "dup-1"
    assert cometapi_sandbox.stats()["requests"] == {"POST": 2}


@pytest.mark.parametrize(("profile", "tasks"), [("kling", 1), ("cometapi", 2)])
def test_a_slow_answer_times_out_and_the_submission_is_resolved_by_backend(servers, monkeypatch, profile, tasks):
    from conftest import reset_sandbox

    sandbox = reset_sandbox(servers[profile], monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, timeout=0.2))
    sandbox.inject(Fault(status=0, delay=0.5))
    task = KlingHook(retry_limit=1, retry_delay=0).create_text2video("a cat", external_task_id="slow-1")
    assert task["task_info"] == {"external_task_id": "slow-1"}
    assert sandbox.stats()["faults_served"] == {"delay": 1}
    time.sleep(0.5)  # the slow first submission lands late: Kling refuses its taken id, CometAPI creates a second
    assert len(sandbox.tasks) == tasks
    assert len(sandbox.submissions) == 2


def test_a_refused_submission_is_sent_again(sandbox):
    sandbox.inject(Fault(status=429, code=1303, method="POST"))
    KlingHook(retry_limit=2, retry_delay=0).create_text2video("a cat", on_unknown_submission="fail")
    assert sandbox.stats()["requests"] == {"POST": 2}
    assert sandbox.stats()["faults_served"] == {"429/1303": 1}
    assert len(sandbox.tasks) == 1


def test_find_task_by_external_id_and_list_on_klings_own_api(kling_sandbox):
    hook = KlingHook()
    first = hook.create_text2video("one", external_task_id="ext-a")
    second = hook.create_text2video("two")
    assert hook.find_task("ext-a")["task_id"] == first["task_id"]
    assert hook.find_task("ext-missing") is None
    assert hook.get_task("ext-a")["task_id"] == first["task_id"]
    assert [task["task_id"] for task in hook.list_tasks()] == [second["task_id"], first["task_id"]]


def test_the_task_list_is_paged_as_asked_and_30_by_default(kling_sandbox):
    hook = KlingHook()
    ids = [hook.create_text2video(f"cat {n}")["task_id"] for n in range(32)]
    assert [task["task_id"] for task in hook.list_tasks()] == ids[::-1][:30]
    assert [task["task_id"] for task in hook.list_tasks(page=2, page_size=3)] == ids[::-1][3:6]
    assert hook.list_tasks(page=1000, page_size=500) == [] and len(hook.list_tasks(page_size=1)) == 1


@pytest.mark.parametrize(
    ("arguments", "field", "allowed"),
    [
        ({"page": 0}, "page", "got 0; allowed: 1 to 1000"),
        ({"page": 1001}, "page", "got 1001; allowed: 1 to 1000"),
        ({"page_size": 0}, "page_size", "got 0; allowed: 1 to 500"),
        ({"page_size": 501}, "page_size", "got 501; allowed: 1 to 500"),
    ],
)
def test_a_task_list_page_out_of_range_is_refused_before_asking(kling_sandbox, arguments, field, allowed):
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().list_tasks(**arguments)
    assert raised.value.field == field and str(raised.value) == f"Invalid {field}: {allowed}"
    assert kling_sandbox.requests == []


def test_cometapi_is_never_asked_for_a_lookup_it_does_not_serve(cometapi_sandbox):
    hook = KlingHook()
    with pytest.raises(KlingConfigurationError, match="cannot look tasks up by external_task_id"):
        hook.find_task("ext-a")
    with pytest.raises(KlingConfigurationError, match="no route that lists tasks"):
        hook.list_tasks()
    assert cometapi_sandbox.requests == []


def test_the_gateway_answers_unrouted_paths_with_html_and_unknown_ids_with_task_not_exist(cometapi_sandbox):
    import requests

    url = f"{cometapi_sandbox.url}/kling/v1/videos/text2video"
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    for unrouted in (f"{url}?external_task_id=x", f"{url}?pageNum=1", f"{cometapi_sandbox.url}/v1/videos/text2video/1"):
        answer = requests.get(unrouted, headers=headers, timeout=5)
        assert answer.status_code == 200 and answer.text.startswith("<!doctype html>"), unrouted
    answer = requests.get(f"{url}/123", headers=headers, timeout=5)
    assert (answer.status_code, answer.json()) == (
        400,
        {"code": "task_not_exist", "message": "task_not_exist", "data": None},
    )


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


def test_the_connection_test_tells_a_good_key_from_a_bad_one_and_from_none(sandbox, monkeypatch):
    ok, message = KlingHook().test_connection()
    assert ok and "accepted" in message and sandbox.profile in message
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, key="sk-wrong"))
    ok, message = KlingHook().test_connection()
    assert not ok and "refused" in message and "sk-wrong" not in message
    conn = json.loads(connection_json(sandbox))
    del conn["password"]
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps(conn))
    ok, message = KlingHook().test_connection()
    assert not ok and "no API key set" in message and "refused" not in message
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json("http://127.0.0.1:9"))
    ok, message = KlingHook(retry_limit=0).test_connection()
    assert not ok and "could not be reached" in message


def test_the_connection_test_passes_when_the_service_answers_its_probe_with_a_task(kling_sandbox):
    # Kling's own API looks tasks up by external_task_id too: a task that took the probe's id answers it.
    KlingHook().create_text2video("a cat", external_task_id="airflow-connection-test")
    assert KlingHook().test_connection() == (True, f"Connected to {kling_sandbox.url} (kling).")


def test_the_connection_test_says_when_the_host_is_not_the_kling_api(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(f"{cometapi_sandbox.url}/console"))
    ok, message = KlingHook().test_connection()
    assert not ok and "not the Kling API: check the connection's host" in message


@pytest.mark.parametrize(
    ("conn", "error_class", "text"),
    [
        ({"conn_type": "kling", "host": "http://127.0.0.1:9"}, KlingAuthError, "has no API key set"),
        (
            {"conn_type": "kling", "host": "ftp://example.com", "password": "sk-kling-config-check"},
            KlingValidationError,
            "host",
        ),
        (
            {"conn_type": "kling", "password": "sk-kling-config-check", "extra": {"timeout": "soon"}},
            KlingValidationError,
            "extra 'timeout'",
        ),
        *[
            (
                {"conn_type": "kling", "password": "sk-kling-config-check", "extra": {name: value}},
                KlingValidationError,
                f"extra '{name}'",
            )
            for name, value in [
                ("timeout", "nan"),
                ("timeout", "inf"),
                ("retry_limit", "1e9"),
                ("retry_delay", -1),
                ("max_video_bytes", 0),
                ("allow_private_video_hosts", "yes"),
            ]
        ],
        (
            {"conn_type": "kling", "password": "sk-kling-config-check", "extra": '{"backend": '},
            KlingValidationError,
            "connection 'kling_default' extra: is not JSON",
        ),
        (
            {"conn_type": "kling", "password": "sk-kling-config-check", "extra": "[1, 2]"},
            KlingValidationError,
            "extra: got list; allowed: a JSON object",
        ),
        (
            {"conn_type": "kling", "password": "sk-kling-config-check", "extra": {"backend": "openai"}},
            KlingValidationError,
            "allowed: cometapi, kling",
        ),
        (
            {"conn_type": "kling", "password": "sk-kling-config-check", "extra": {"backend": "kling"}},
            KlingAuthError,
            "no access key set",
        ),
    ],
)
def test_bad_connections_are_refused_before_any_request(cometapi_sandbox, monkeypatch, conn, error_class, text):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps(conn))
    if isinstance(conn.get("extra"), str):
        try:
            EnvironmentVariablesBackend().get_connection("kling_default")
        except ValueError as refused:  # Airflow 3.0 refuses the connection itself: no hook ever sees it
            pytest.skip(f"this Airflow refuses such a connection before any hook: {refused}")
    with pytest.raises(error_class, match=text):
        KlingHook().create_text2video("a cat")
    assert cometapi_sandbox.requests == []


def test_a_port_goes_after_the_host_and_before_any_path(cometapi_sandbox, monkeypatch):
    conn = {
        "conn_type": "kling",
        "host": "https://proxy.example.com/cometapi",
        "port": 8443,
        "password": "sk-kling-config-check",
    }
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps(conn))
    assert KlingHook().settings.base_url == "https://proxy.example.com:8443/cometapi"


def test_a_missing_connection_is_named(cometapi_sandbox):
    with pytest.raises(AirflowNotFoundException, match="kling_nowhere") as raised:
        KlingHook("kling_nowhere").create_text2video("a cat")
    assert not isinstance(raised.value, AirflowFailException)
    assert cometapi_sandbox.requests == []


def test_klings_own_api_gets_a_signed_token_renewed_before_it_expires(kling_sandbox, caplog):
    import jwt

    hook = KlingHook()
    first = hook.create_text2video("a cat")
    token, expires = hook._auth._token
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    assert claims["iss"] == ACCESS_KEY and claims["exp"] - claims["nbf"] == 1805
    assert abs(expires - time.time() - 1800) < 5
    hook.get_task(first["task_id"])
    assert hook._auth._token[0] == token  # kept while it has more than 5 minutes to live
    hook._auth._token = (token, time.time() + 299)
    hook.get_task(first["task_id"])
    assert hook._auth._token[1] > time.time() + 1790  # renewed 5 minutes before it expires
    expired = jwt.encode({"iss": ACCESS_KEY, "exp": int(time.time()) - 1, "nbf": 0}, SECRET_KEY, algorithm="HS256")
    hook._auth._token = (expired, time.time() + 3600)
    with pytest.raises(KlingAuthError, match="code=1004"):
        hook.get_task(first["task_id"])
    assert token not in caplog.text and SECRET_KEY not in caplog.text


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
        hook.create_text2video(SECRET_KEY * 400)
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

    async def read():
        async_hook = KlingAsyncHook()
        try:
            return await async_hook.get_task(task["task_id"])
        finally:
            await async_hook.close()

    assert asyncio.run(read()) == hook.get_task(task["task_id"])


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


def test_async_hooks_in_one_event_loop_share_a_bounded_pool(sandbox, monkeypatch):
    from airflow_provider_kling._constants import ASYNC_POOL_SIZE

    # A request budget above what 300 polls at once ask for: the pool, not the budget, is under test.
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, requests_per_second=10_000))
    task = KlingHook().create_text2video("a cat")
    sandbox.latency = 0.5  # keeps every poll in flight together, so the pool must grow to its bound
    # Sockets open at once, not sockets opened: on a starved machine a connection idle past the client's keep-alive
    # expiry is closed and another opened, which keeps the pool within its bound.
    open_before = sandbox.most_connections_open = sandbox.connections_open

    async def poll_together(count: int):
        hooks = [KlingAsyncHook() for _ in range(count)]
        answers = await asyncio.gather(*(hook.get_task(task["task_id"]) for hook in hooks))
        sessions = {id(session): session for session in [await hook.get_async_conn() for hook in hooks]}
        for hook in hooks[1:]:
            await hook.close()
        still_open = not any(session.closed for session in sessions.values())
        await hooks[0].close()
        return answers, sessions, still_open, all(session.closed for session in sessions.values())

    answers, sessions, still_open, closed_at_last = asyncio.run(poll_together(3 * ASYNC_POOL_SIZE))
    assert {answer["task_id"] for answer in answers} == {task["task_id"]}
    assert len(sessions) == 1  # one session for every hook with these settings in this event loop
    assert ASYNC_POOL_SIZE // 2 < sandbox.most_connections_open - open_before <= ASYNC_POOL_SIZE
    assert still_open and closed_at_last


def test_the_settings_never_show_the_key_in_a_repr(kling_sandbox):
    # Tracebacks that print each frame's locals (rich, Sentry, Airflow 3.0's dag.test) show the settings' repr.
    settings = KlingHook().settings
    assert SECRET_KEY in settings.secrets and SECRET_KEY not in repr(settings)
    assert settings.access_key in repr(settings)


def test_a_multi_shot_request_reaches_the_service_as_kling_documents_it(sandbox, caplog, capfd):
    task = KlingHook().create_text2video(
        model_name="kling-v3", multi_shot=True, shot_type="customize", multi_prompt=TWO_SHOTS
    )
    assert sandbox.submissions == [
        {
            "model_name": "kling-v3",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": TWO_SHOTS_SENT,
            "duration": "5",
        }
    ]
    assert task["task_id"] in sandbox.tasks
    warned = "The cometapi backend documents no multi_shot" in caplog.text + capfd.readouterr().out
    assert warned is (sandbox.profile == "cometapi")


def test_fields_the_provider_does_not_know_are_sent_as_given_and_logged(sandbox, caplog, capfd):
    KlingHook().create_text2video("a fox", extra_fields={"resolution": "4k"})
    assert sandbox.submissions == [{"prompt": "a fox", "resolution": "4k"}]
    assert 'Sending fields the provider does not check: {"resolution": "4k"}' in caplog.text + capfd.readouterr().out


def test_a_service_that_refuses_an_unknown_field_fails_without_a_retry(sandbox):
    sandbox.inject(Fault(status=400, code=1201, message="resolution is not a parameter", method="POST"))
    with pytest.raises(KlingInvalidRequestError, match="resolution is not a parameter"):
        KlingHook(retry_limit=3, retry_delay=0).create_text2video("a fox", extra_fields={"resolution": "4k"})
    assert sandbox.stats()["requests"] == {"POST": 1}


def test_a_watermarked_copy_comes_beside_the_video(sandbox, tmp_path):
    hook = KlingHook()
    task_id = hook.create_text2video("a fox", watermark_info={"enabled": True})["task_id"]
    video = hook.wait_for_task(task_id, poll_interval=0.1, timeout=15)["task_result"]["videos"][0]
    assert video["watermark_url"].startswith(f"{sandbox.url}/") and video["watermark_url"] != video["url"]
    assert hook.download_video(video["watermark_url"], str(tmp_path / "marked.mp4")) == sandbox.video_size


def test_a_host_without_a_scheme_that_speaks_plain_http_fails_at_once_naming_the_fix(cometapi_sandbox, monkeypatch):
    # A host without a scheme is taken as https://: the sandbox speaks plain HTTP, so TLS fails. No retry fixes it.
    host = cometapi_sandbox.url.removeprefix("http://")
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(host, retry_delay=5))
    started = time.monotonic()
    with pytest.raises(KlingConfigurationError) as raised:
        KlingHook().get_task("1")
    assert time.monotonic() - started < 5  # no retries
    assert f"TLS with https://{host} failed: check the connection's host (a service that speaks plain HTTP needs " in (
        str(raised.value)
    )
    assert cometapi_sandbox.requests == []


def test_a_refused_key_names_the_backend_that_refused_it(sandbox, monkeypatch):
    # A key of the other service is refused too: the error says which backend asked, and how to pick the other.
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, key="sk-not-the-key-0123456789abcdefgh"))
    with pytest.raises(KlingAuthError) as raised:
        KlingHook().get_task("1")
    other = "kling" if sandbox.profile == "cometapi" else "cometapi"
    assert f"the connection's backend is {sandbox.profile!r}, which takes " in str(raised.value)
    assert raised.value.message.endswith(f"set its backend extra to {other!r})")
