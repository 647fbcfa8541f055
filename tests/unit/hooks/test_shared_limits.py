"""
Fast: what the waits of one triggerer share on one key, against the sandbox over loopback in a real event loop: a
bound on requests in flight (taken before the HTTP client), a request budget, and the backoff after a rate limit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from conftest import connection_json

from airflow_provider_kling._constants import DEFAULT_REQUESTS_PER_SECOND
from airflow_provider_kling.exceptions import KlingValidationError, KlingWaitTimeoutError
from airflow_provider_kling.hooks import _async as async_hook_module
from airflow_provider_kling.hooks.kling import KlingAsyncHook, KlingHook
from airflow_provider_kling.sandbox import Fault


def _use(sandbox, monkeypatch: pytest.MonkeyPatch, **extra: object) -> str:
    """Point ``kling_default`` at the sandbox with these extras; return a task to poll."""
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, **extra))
    return KlingHook().create_text2video("a fox")["task_id"]


def _polls(task_id: str, hooks: list[KlingAsyncHook]) -> list[Any]:
    """Each hook polls the task once, all at the same time in one event loop, as waits do; their results."""

    async def poll(hook: KlingAsyncHook) -> Any:
        try:
            return await hook.get_task(task_id)
        finally:
            await hook.close()

    async def together() -> list[Any]:
        return await asyncio.gather(*(poll(hook) for hook in hooks), return_exceptions=True)

    return asyncio.run(asyncio.wait_for(together(), 30))


def _get_times(sandbox) -> list[float]:
    return [at for (method, _), at in zip(sandbox.requests, sandbox.request_times, strict=True) if method == "GET"]


def test_requests_in_flight_are_bounded_before_they_reach_the_http_clients(cometapi_sandbox, monkeypatch):
    # The clients could carry 100 at once; the bound, here 3, holds the others on our own queue.
    monkeypatch.setattr(async_hook_module, "ASYNC_POOL_SIZE", 3)
    task_id = _use(cometapi_sandbox, monkeypatch, requests_per_second=1000)
    cometapi_sandbox.latency = 0.2
    answers = _polls(task_id, [KlingAsyncHook() for _ in range(12)])
    assert [answer["task_id"] for answer in answers] == [task_id] * 12
    assert cometapi_sandbox.stats()["most_in_flight"] == 3


def test_the_time_spent_waiting_for_a_place_in_flight_counts_against_the_deadline(cometapi_sandbox, monkeypatch):
    monkeypatch.setattr(async_hook_module, "ASYNC_POOL_SIZE", 1)
    task_id = _use(cometapi_sandbox, monkeypatch, requests_per_second=1000, retry_limit=0)
    cometapi_sandbox.inject(Fault(status=0, delay=3, method="GET"))  # the first poll holds the one place for 3 s
    seen_at_failure: list[int] = []

    async def scenario() -> tuple[Any, BaseException]:
        holder, late = KlingAsyncHook(), KlingAsyncHook(deadline=time.time() + 1)
        try:
            holding = asyncio.ensure_future(holder.get_task(task_id))
            await asyncio.sleep(0.2)
            with pytest.raises(KlingWaitTimeoutError) as raised:
                await late.get_task(task_id)
            seen_at_failure.append(len(_get_times(cometapi_sandbox)))
            return await holding, raised.value
        finally:
            await holder.close()
            await late.close()

    answer, error = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert answer["task_id"] == task_id
    assert str(error).startswith("The deadline passed during a request")
    assert seen_at_failure == [1]  # the late poll never reached the service


def test_the_budget_spaces_the_requests_of_every_wait_on_the_key(cometapi_sandbox, monkeypatch):
    task_id = _use(cometapi_sandbox, monkeypatch, requests_per_second=20)
    answers = _polls(task_id, [KlingAsyncHook() for _ in range(30)])
    assert [answer["task_id"] for answer in answers] == [task_id] * 30
    times = _get_times(cometapi_sandbox)
    # 30 requests at 20 a second span at least 29/20 s (a little less, for the way over loopback).
    assert max(times) - min(times) > 0.8 * 29 / 20


def test_a_stalled_event_loop_releases_no_burst_of_overdue_requests(cometapi_sandbox, monkeypatch):
    # 30 waits at 20 a second; the loop is blocked for a second once the first request is out. The turns that fell
    # due in that second are still handed out one by one after it, not all at once.
    task_id = _use(cometapi_sandbox, monkeypatch, requests_per_second=20)

    async def stall() -> None:
        while not _get_times(cometapi_sandbox):
            await asyncio.sleep(0.001)
        time.sleep(1.0)  # blocks the event loop, as a long garbage collection or a blocking call does

    async def together() -> list[Any]:
        hooks = [KlingAsyncHook() for _ in range(30)]
        try:
            *answers, _ = await asyncio.gather(*(hook.get_task(task_id) for hook in hooks), stall())
            return answers
        finally:
            for hook in hooks:
                await hook.close()

    answers = asyncio.run(asyncio.wait_for(together(), 30))
    assert [answer["task_id"] for answer in answers] == [task_id] * 30
    times = _get_times(cometapi_sandbox)
    most_in_a_tenth = max(sum(1 for other in times if at <= other < at + 0.1) for at in times)
    assert most_in_a_tenth <= 5  # 2 at 20 a second; some slack for the way over loopback, none for a burst of 20


def test_a_rate_limited_answer_pauses_every_wait_on_the_key_then_all_succeed(sandbox, monkeypatch):
    # 8 waits, a budget of 4 a second: the first poll is told to come back in 1 s (1302, or the relay's wrap of
    # it); the 7 others, due within 1.75 s, all wait for the pause to end instead of meeting the limit on their own.
    task_id = _use(sandbox, monkeypatch, requests_per_second=4)
    sandbox.inject(Fault(status=429, code=1302, message="requests too fast", retry_after="1", method="GET"))
    answers = _polls(task_id, [KlingAsyncHook() for _ in range(8)])
    assert [answer["task_id"] for answer in answers] == [task_id] * 8
    first, *others = _get_times(sandbox)
    assert len(others) == 8  # the 7 others and the first one's retry
    assert min(others) - first > 0.95
    assert sandbox.stats()["faults_served"] == {"429/1302": 1}


def test_the_sandboxs_rate_limit_is_met_with_no_429_when_the_budget_matches_it(sandbox, monkeypatch):
    # 60 polls, three seconds' worth at the sandbox's limit of 20 a second: a budget twice too fast would be refused.
    task_id = _use(sandbox, monkeypatch, requests_per_second=20, retry_limit=0)
    sandbox.rate_limit = 20
    answers = _polls(task_id, [KlingAsyncHook() for _ in range(60)])
    assert [answer["task_id"] for answer in answers] == [task_id] * 60
    assert "rate_limited" not in sandbox.stats()["faults_served"]


@pytest.mark.parametrize("value", [0, -1, "fast", 20000, "nan"])
def test_a_request_rate_out_of_range_is_refused_naming_the_extra(cometapi_sandbox, monkeypatch, value):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, requests_per_second=value))
    with pytest.raises(KlingValidationError) as raised:
        asyncio.run(KlingAsyncHook().get_settings())
    assert str(raised.value) == (
        f"Invalid connection 'kling_default' extra 'requests_per_second': got {value!r}; "
        "allowed: a number from 0.01 to 10000"
    )


@pytest.mark.parametrize(("value", "rate"), [(None, DEFAULT_REQUESTS_PER_SECOND), ("2.5", 2.5), (500, 500.0)])
def test_a_request_rate_in_range_is_taken(cometapi_sandbox, monkeypatch, value, rate):
    extra = {} if value is None else {"requests_per_second": value}
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, **extra))
    assert asyncio.run(KlingAsyncHook().get_settings()).requests_per_second == rate
