"""Fast: a submission refused for the account's concurrency waits for a free slot, against the sandbox's limit.

The sandbox plays Kling's account concurrency: a task holds a slot from its submission until it ends, and a
submission beyond the limit is refused with HTTP 429 and code 1303 (wrapped by the relay on ``cometapi``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from airflow_provider_kling import concurrency
from airflow_provider_kling.concurrency import MAX_SLOT_PAUSE, SlotQueue, slot_pause
from airflow_provider_kling.contract import is_account_busy
from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingNoFreeSlotError,
    KlingTransientError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.sandbox import Fault, KlingSandbox
from airflow_provider_kling.sandbox.server import FAIL_MARKER


@pytest.fixture
def account(sandbox):
    """The sandbox as an account that renders one task at a time."""
    sandbox.concurrency = 1
    sandbox.render_seconds = 0.5
    return sandbox


def test_a_submission_beyond_the_accounts_concurrency_is_refused_with_1303_and_creates_nothing(account):
    hook = KlingHook(retry_limit=0)
    hook.create_text2video("a fox")
    with pytest.raises(KlingTransientError) as raised:
        hook.create_text2video("a hare", slot_timeout=0)
    assert (raised.value.status, raised.value.code) == (429, 1303)
    assert "parallel task over resource pack limit" in str(raised.value)
    assert is_account_busy(raised.value) and not raised.value.ambiguous
    assert len(account.tasks) == 1
    assert account.stats()["refused_for_concurrency"] == 1 and account.stats()["most_rendering"] == 1


def test_the_relay_passes_1303_on_wrapped_as_fail_to_fetch_task(cometapi_sandbox):
    cometapi_sandbox.concurrency = 1
    cometapi_sandbox.render_seconds = 60
    KlingHook().create_text2video("a fox")
    request = urllib.request.Request(
        f"{cometapi_sandbox.url}/kling/v1/videos/text2video",
        data=json.dumps({"prompt": "a hare"}).encode(),
        headers={"Authorization": f"Bearer {cometapi_sandbox.api_key}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=5)
    body = json.loads(answered.value.read())
    assert answered.value.code == 429 and body["code"] == "fail_to_fetch_task"
    assert json.loads(body["message"])["code"] == 1303


def test_a_task_holds_its_slot_until_it_ends_failed_ones_too(account):
    hook = KlingHook(retry_limit=0)
    hook.create_text2video(f"a fox {FAIL_MARKER}")
    with pytest.raises(KlingTransientError):
        hook.create_text2video("a hare", slot_timeout=0)
    time.sleep(account.render_seconds + 0.1)
    assert hook.get_task(next(iter(account.tasks)))["task_status"] == "failed"
    assert hook.create_text2video("a hare", slot_timeout=0)["task_status"] == "submitted"


def test_a_blocking_submission_waits_for_a_free_slot_and_spends_no_retry(account, caplog, capfd):
    hook = KlingHook(retry_limit=0)  # a slot wait is no retry: none is allowed here
    hook.create_text2video("a fox")
    started = time.monotonic()
    task = hook.create_text2video("a hare")
    assert time.monotonic() - started >= 0.4  # the first render's end
    assert task["task_status"] == "submitted" and len(account.tasks) == 2
    refused = account.stats()["refused_for_concurrency"]
    assert refused >= 1 and len(account.submissions) == 2 + refused
    logged = caplog.text + capfd.readouterr().out
    assert "Waiting for a free slot on the Kling account (its concurrency is full; refused 1 times): 0 s so far" in (
        logged
    )


def test_a_blocking_wait_for_a_slot_ends_at_its_timeout_naming_the_refusals(account):
    account.render_seconds = 60
    hook = KlingHook()
    hook.create_text2video("a fox")
    started = time.monotonic()
    with pytest.raises(KlingNoFreeSlotError) as raised:
        hook.create_text2video("a hare", slot_timeout=0.3)
    assert time.monotonic() - started < 5
    assert str(raised.value).startswith("No free slot on the Kling account within ")
    assert "for the account's concurrency" in str(raised.value) and len(account.tasks) == 1


def test_the_hooks_deadline_bounds_a_wait_for_a_slot(account):
    account.render_seconds = 60
    KlingHook().create_text2video("a fox")
    hook = KlingHook(deadline=time.time() + 0.3)
    with pytest.raises(KlingWaitTimeoutError):
        hook.create_text2video("a hare")
    assert len(account.tasks) == 1


def test_a_relays_own_429_on_a_submission_is_waited_out_as_a_full_account(cometapi_sandbox):
    # CometAPI may give the account's limit in its own words: no Kling code to tell it from anything else.
    cometapi_sandbox.inject(Fault(status=429, code=None, message="upstream overloaded, retry later", method="POST"))
    task = KlingHook(retry_limit=0).create_text2video("a fox")
    assert task["task_status"] == "submitted" and cometapi_sandbox.stats()["requests"] == {"POST": 2}


def test_requests_too_fast_on_a_submission_are_retried_within_the_budget_not_waited_out(sandbox):
    sandbox.inject(Fault(status=429, code=1302, method="POST", count=5))
    with pytest.raises(KlingTransientError) as raised:
        KlingHook(retry_limit=1, retry_delay=0).create_text2video("a fox")
    assert raised.value.code == 1302 and not is_account_busy(raised.value)
    assert sandbox.stats()["requests"] == {"POST": 2}


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (1101, "the account is in arrears: top up its balance, then run the task again"),
        (1102, "the account's resource pack is used up or has expired: buy or renew one, then run the task again"),
        (1100, "check the account's status in the Kling (or CometAPI) console"),
    ],
)
def test_an_account_refusal_no_wait_fixes_fails_at_once_naming_the_fix(sandbox, code, fix):
    sandbox.inject(Fault(status=429, code=code, message="refused", method="POST"))
    with pytest.raises(KlingAccountError) as raised:
        KlingHook().create_text2video("a fox")
    assert f"Kling error: refused: {fix}" in str(raised.value) and not is_account_busy(raised.value)
    assert sandbox.stats()["requests"] == {"POST": 1}


def test_the_sandbox_takes_its_limit_from_its_control(cometapi_sandbox):
    request = urllib.request.Request(
        f"{cometapi_sandbox.url}/_sandbox/concurrency", data=b'{"limit": 5}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200 and json.loads(answer.read())["refused_for_concurrency"] == 0
    assert cometapi_sandbox.concurrency == 5
    with pytest.raises(ValueError, match="concurrency must be a whole number of tasks from 0"):
        KlingSandbox(concurrency=-1)


def test_the_sandboxs_command_line_plays_the_accounts_limit():
    command = [sys.executable, "-m", "airflow_provider_kling.sandbox", "--port", "0", "--concurrency", "1"]
    command += ["--render-seconds", "60", "--units", "none"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split(" listening on ")[1].split()[0]

        def submit(prompt: str) -> int:
            request = urllib.request.Request(
                f"{url}/kling/v1/videos/text2video",
                data=json.dumps({"prompt": prompt}).encode(),
                headers={"Authorization": "Bearer sandbox-key"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status
            except urllib.error.HTTPError as error:
                return error.code

        assert [submit("a fox"), submit("a hare")] == [200, 429]
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"limit": -1}', "limit must be a whole number of tasks from 0"),
        ('{"limit": 2.5}', "limit must be a whole number"),
        ('{"rate": 5}', '{"limit": tasks rendering at once, 0 for no limit}'),
    ],
)
def test_a_bad_concurrency_body_gets_400_saying_why(cometapi_sandbox, body, words):
    request = urllib.request.Request(f"{cometapi_sandbox.url}/_sandbox/concurrency", data=body.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=5)
    assert answered.value.code == 400 and words in json.loads(answered.value.read())["error"]
    assert cometapi_sandbox.concurrency == 0


@pytest.mark.parametrize(
    ("refusals", "base", "retry_after", "low", "high"),
    [
        (1, 2.0, None, 1.0, 2.0),
        (2, 2.0, None, 2.0, 4.0),
        (4, 2.0, None, 8.0, 16.0),
        (20, 2.0, None, MAX_SLOT_PAUSE / 2, MAX_SLOT_PAUSE),
        (3, 2.0, 7.0, 7.0, 7.0),
        (1, 2.0, 900.0, MAX_SLOT_PAUSE, MAX_SLOT_PAUSE),
    ],
)
def test_a_blocking_waits_pause_doubles_with_each_refusal_with_jitter_and_honours_retry_after(
    refusals, base, retry_after, low, high
):
    pauses = [slot_pause(refusals, base, retry_after) for _ in range(200)]
    assert low <= min(pauses) and max(pauses) <= high
    if low != high:
        assert max(pauses) - min(pauses) > (high - low) / 4  # drawn, not fixed


def _queued(queue: SlotQueue, *waiting_since: float) -> list[asyncio.Future[str]]:
    return [queue.join(since) for since in waiting_since]


def test_the_queue_serves_the_waits_first_come_first_served_by_when_they_were_first_refused():
    async def scenario():
        queue = SlotQueue(base_delay=3600)
        waits = dict(zip(("late", "early", "middle"), _queued(queue, 30.0, 10.0, 20.0), strict=True))
        assert {name: queue.ahead_of(wait) for name, wait in waits.items()} == {"late": 2, "early": 0, "middle": 1}
        order: list[str] = []
        for name, wait in waits.items():
            wait.add_done_callback(lambda _, name=name: order.append(name))
        for _ in waits:
            queue.task_ended()
            await asyncio.sleep(0)
        assert order == ["early", "middle", "late"]
        assert waits["early"].result() == "a task on the account ended"
        assert not queue.release("nothing waits")

    asyncio.run(scenario())


def test_a_wait_given_up_loses_its_place_to_the_next():
    async def scenario():
        queue = SlotQueue(base_delay=3600)
        first, second = _queued(queue, 1.0, 2.0)
        first.cancel()
        assert queue.waiting() == 1 and queue.ahead_of(second) == 0
        queue.task_ended()
        await asyncio.sleep(0)
        assert second.done()

    asyncio.run(scenario())


def test_without_an_end_the_first_wait_is_released_to_try_after_a_pause_that_doubles(monkeypatch):
    monkeypatch.setattr(concurrency, "SLOT_PAUSE_SHARES", (1.0, 1.0))

    async def scenario():
        queue = SlotQueue(base_delay=0.1)
        started = time.monotonic()
        waits = _queued(queue, 1.0, 2.0, 3.0)
        released_at = []
        for wait in waits:
            reason = await asyncio.wait_for(wait, 5)
            released_at.append(time.monotonic() - started)
            assert reason.startswith("no task on the account was seen to end for ")
        return released_at

    first, second, third = asyncio.run(scenario())
    assert 0.09 <= first < 0.3 and 0.19 <= second - first < 0.45 and 0.39 <= third - second < 0.8


def test_an_observed_end_puts_the_next_probe_off(monkeypatch):
    monkeypatch.setattr(concurrency, "SLOT_PAUSE_SHARES", (1.0, 1.0))

    async def scenario():
        queue = SlotQueue(base_delay=0.3)
        first, second = _queued(queue, 1.0, 2.0)
        await asyncio.sleep(0.2)
        queue.task_ended()
        await asyncio.sleep(0.2)  # 0.4 s after the first joined, 0.2 s after the end: no probe yet
        assert first.done() and not second.done()
        assert await asyncio.wait_for(second, 2) != "a task on the account ended"

    asyncio.run(scenario())


def test_each_event_loop_and_account_has_its_own_queue():
    async def queues():
        return [concurrency.slot_queues.of(account, 1.0) for account in ("a", "a", "b")]

    one, same, other = asyncio.run(queues())
    assert one is same and one is not other
    assert asyncio.run(queues())[0] is not one
