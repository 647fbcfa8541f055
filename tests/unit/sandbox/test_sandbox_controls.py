"""Fast: the sandbox's control endpoints take the bodies the README documents and refuse others with a 400."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest


def _post(sandbox, name: str, body: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/{name}", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("body", "pending"),
    [
        ('[{"status": 503, "code": 5001, "count": 2}, {"drop": true}]', 3),
        ('{"status": 429, "code": 1302, "retry_after": "1"}', 1),
        ("[]", 0),
    ],
)
def test_faults_take_a_list_or_one_fault(cometapi_sandbox, body, pending):
    status, stats = _post(cometapi_sandbox, "faults", body)
    assert status == 200 and stats["faults_pending"] == pending


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"status": 503, "colour": "red"}', "unknown fault field(s) colour; allowed: status, code"),
        ("[1, 2]", "a JSON list of faults"),
        ('"drop"', "a JSON list of faults"),
        ("{not json", "POST /_sandbox/faults"),
    ],
)
def test_a_bad_faults_body_gets_400_saying_why(cometapi_sandbox, body, words):
    status, answer = _post(cometapi_sandbox, "faults", body)
    assert status == 400 and words in answer["error"]
    assert cometapi_sandbox.stats()["faults_pending"] == 0


def test_chaos_takes_a_rate_and_a_seed(cometapi_sandbox):
    assert _post(cometapi_sandbox, "chaos", '{"rate": 0.25, "seed": 7}')[0] == 200
    assert cometapi_sandbox.chaos_rate == 0.25


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"rate": 2}', "rate must be a number from 0 to 1"),
        ('{"seed": "x"}', "seed must be an integer"),
        ('{"rat": 0.5}', '{"rate": 0 to 1, "seed": an integer}'),
        ("[0.5]", '{"rate": 0 to 1'),
    ],
)
def test_a_bad_chaos_body_gets_400_saying_why(cometapi_sandbox, body, words):
    status, answer = _post(cometapi_sandbox, "chaos", body)
    assert status == 400 and words in answer["error"] and cometapi_sandbox.chaos_rate == 0


def test_held_renders_end_when_let_go_and_ended_ones_stay_ended(cometapi_sandbox):
    from airflow_provider_kling.hooks.kling import KlingHook

    hook = KlingHook()
    cometapi_sandbox.render_seconds = 0
    ended = hook.create_text2video("a fox")["task_id"]
    cometapi_sandbox.render_seconds = 3600
    held = hook.create_text2video("a hare")["task_id"]
    assert hook.get_task(held)["task_status"] in ("submitted", "processing")
    cometapi_sandbox.end_renders_in(0)
    assert [hook.get_task(task_id)["task_status"] for task_id in (held, ended)] == ["succeed", "succeed"]
    assert cometapi_sandbox.tasks[ended].render_seconds == 0


def test_a_rate_limit_is_set_and_lifted_by_its_control(cometapi_sandbox):
    assert _post(cometapi_sandbox, "rate_limit", '{"rate": 2.5}')[0] == 200
    assert cometapi_sandbox.rate_limit == 2.5
    assert _post(cometapi_sandbox, "rate_limit", '{"rate": 0}')[0] == 200
    assert cometapi_sandbox.rate_limit == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"rate": -1}', "rate must be a number of requests a second from 0"),
        ('{"rate": true}', "rate must be a number"),
        ('{"limit": 5}', '{"rate": requests a second, 0 for no limit}'),
        ("5", '{"rate": requests a second'),
    ],
)
def test_a_bad_rate_limit_body_gets_400_saying_why(cometapi_sandbox, body, words):
    status, answer = _post(cometapi_sandbox, "rate_limit", body)
    assert status == 400 and words in answer["error"] and cometapi_sandbox.rate_limit == 0


def test_the_kling_profiles_default_secret_key_signs_tokens_without_a_warning(monkeypatch):
    import json
    import subprocess
    import sys
    import warnings

    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.sandbox.__main__ import DEFAULT_KEYS

    server = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_kling.sandbox", "--profile", "kling", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().split(" listening on ")[1].split()[0]
        conn = {"conn_type": "kling", "host": url, "login": "sandbox-access-key", "password": DEFAULT_KEYS["kling"]}
        monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps({**conn, "extra": {"backend": "kling"}}))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert KlingHook().test_connection()[0]
        assert [str(warning.message) for warning in caught if "HMAC key" in str(warning.message)] == []
    finally:
        server.terminate()
        server.wait(timeout=10)
