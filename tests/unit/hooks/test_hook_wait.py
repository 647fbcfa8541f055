"""
Fast: ``KlingHook.wait_for_task`` on a clock of the test's own, against the sandbox over loopback.

The hook's clock (``time`` in its module) stands still except when the hook sleeps, so every poll and every
timeout lands on a known second: what is asserted is the schedule itself, not how long a run took.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from support.answer_tables import with_status

from airflow_provider_kling.exceptions import KlingWaitTimeoutError
from airflow_provider_kling.hooks import kling as hook_module
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.sandbox.server import FAIL_MARKER

#: More sleeps than any wait here takes: a wait that never ends fails the test instead of hanging it.
MOST_SLEEPS = 1000


class StillClock:
    """``time.time()`` and ``time.monotonic()`` that move only by the hook's sleeps."""

    def __init__(self) -> None:
        self.now = time.time()
        self.started = time.monotonic()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        # Never behind the real clock while a test runs: reads of an answer's body are bounded by the real one.
        return self.started + sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < MOST_SLEEPS, "the wait never ends"
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> StillClock:
    clock = StillClock()
    monkeypatch.setattr(
        hook_module, "time", SimpleNamespace(time=clock.time, monotonic=clock.monotonic, sleep=clock.sleep)
    )
    return clock


@pytest.fixture
def rendering(cometapi_sandbox) -> str:
    """A task that renders far longer than any wait here: it stays ``submitted``."""
    cometapi_sandbox.render_seconds = 10_000
    return KlingHook().create_text2video("a fox")["task_id"]


def test_the_wait_polls_every_interval_until_the_task_ends_and_logs_each_status_once(
    cometapi_sandbox, clock, caplog, capfd
):
    cometapi_sandbox.render_seconds = 0
    task_id = KlingHook().create_text2video("a fox")["task_id"]
    cometapi_sandbox.inject(Fault(status=200, body=with_status(task_id, "processing"), method="GET", count=3))
    task = KlingHook().wait_for_task(task_id, poll_interval=3, timeout=100)
    assert task["task_status"] == "succeed" and task["task_result"]["videos"]
    assert clock.sleeps == [3, 3, 3]
    # capfd is read once: both lines are counted in what the first read returns.
    out = capfd.readouterr().out
    for line in (f"Kling task {task_id} is 'processing' after 0 s", f"Kling task {task_id} is 'succeed' after 9 s"):
        assert max(caplog.text.count(line), out.count(line)) == 1, line


def test_a_failed_task_ends_the_wait_and_is_returned(cometapi_sandbox, clock):
    cometapi_sandbox.render_seconds = 0
    task_id = KlingHook().create_text2video(f"a fox {FAIL_MARKER}")["task_id"]
    assert KlingHook().wait_for_task(task_id, poll_interval=3, timeout=100)["task_status"] == "failed"
    assert clock.sleeps == []


def test_a_task_that_never_ends_times_out_at_the_timeout_naming_its_last_status(rendering, clock):
    with pytest.raises(KlingWaitTimeoutError) as raised:
        KlingHook().wait_for_task(rendering, poll_interval=3, timeout=10)
    assert str(raised.value) == (
        f"Kling task {rendering} did not end within the timeout: waited 10 s, last status 'submitted'"
    )
    # Polls at 0, 3, 6 and 9 s, then a last sleep up to the timeout, never past it.
    assert clock.sleeps == [3, 3, 3, 1]


def test_by_default_the_wait_polls_every_10_s_for_an_hour(rendering, clock):
    with pytest.raises(KlingWaitTimeoutError, match="waited 3600 s"):
        KlingHook().wait_for_task(rendering)
    assert clock.sleeps == [10] * 360


@pytest.mark.parametrize(("outer", "sleeps"), [(5, [3, 2]), (100, [3, 3, 3, 1])], ids=["outer-sooner", "outer-later"])
def test_the_hooks_own_deadline_cuts_the_wait_when_sooner_and_is_kept_after_it(rendering, clock, outer, sleeps):
    hook = KlingHook(deadline=clock.now + outer)
    kept = hook.deadline
    with pytest.raises(KlingWaitTimeoutError, match="did not end within the timeout"):
        hook.wait_for_task(rendering, poll_interval=3, timeout=10)
    assert clock.sleeps == sleeps
    assert hook.deadline == kept


def test_without_a_deadline_of_its_own_the_hook_has_none_after_a_wait(rendering, clock):
    hook = KlingHook()
    with pytest.raises(KlingWaitTimeoutError):
        hook.wait_for_task(rendering, poll_interval=3, timeout=4)
    assert hook.deadline is None and clock.sleeps == [3, 1]
