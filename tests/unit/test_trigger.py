"""Fast: the trigger's state across a triggerer restart, and the one event it yields for each way a wait ends."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import time

import pytest
from answer_tables import paused

from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.triggers.kling import KlingTaskTrigger


def _events(trigger: KlingTaskTrigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), 20))


def _recreated(serialized: tuple[str, dict]) -> KlingTaskTrigger:
    """The trigger as a triggerer builds it from the row Airflow stored: its class by path, its kwargs."""
    classpath, kwargs = serialized
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


def test_serialize_gives_back_every_argument():
    trigger = KlingTaskTrigger(
        "880001", deadline=1_900_000_000.5, kling_conn_id="kling_eu", poll_interval=7.5, started_at=1_800_000_000.25
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.kling.KlingTaskTrigger"
    assert kwargs == {
        "kling_task_id": "880001",
        "deadline": 1_900_000_000.5,
        "kling_conn_id": "kling_eu",
        "poll_interval": 7.5,
        "started_at": 1_800_000_000.25,
    }


def test_a_restarted_triggerer_keeps_the_deadline_and_the_start(monkeypatch):
    trigger = KlingTaskTrigger("880001", deadline=time.time() + 600)
    stored = trigger.serialize()  # when the task defers
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 500)  # a triggerer picks the row up 500 s later
    again = _recreated(stored)
    assert (again.deadline, again.started_at) == (trigger.deadline, trigger.started_at)
    assert again.serialize() == stored


def test_a_new_trigger_starts_its_clock_now():
    before = time.time()
    trigger = KlingTaskTrigger("880001", deadline=before + 60)
    assert before <= trigger.started_at <= time.time()


def _submitted(sandbox, prompt: str = "a fox") -> str:
    return KlingHook().create_text2video(prompt)["task_id"]


def test_a_finished_task_gives_one_event_with_its_videos(sandbox):
    task_id = _submitted(sandbox)
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "succeed" and event["kling_task_id"] == task_id
    assert event["task"]["task_result"]["videos"][0]["url"] in event["message"]


def test_a_failed_task_gives_a_failed_event(sandbox):
    task_id = _submitted(sandbox, "sandbox:fail a fox")
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "failed" and event["task"]["task_status"] == "failed"


def test_an_error_no_retry_can_fix_is_marked_not_retryable(cometapi_sandbox):
    cometapi_sandbox.inject(Fault(status=401, code=1000, message="bad key", count=10))
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "error" and event["retryable"] is False and "bad key" in event["message"]


def test_a_transient_error_that_outlasts_the_retries_is_marked_retryable(cometapi_sandbox):
    cometapi_sandbox.inject(Fault(status=503, code=5001, message="busy", count=50))
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "error" and event["retryable"] is True and "busy" in event["message"]
    assert len(cometapi_sandbox.requests) == 6  # the first try and the connection's 5 retries


def test_an_unknown_status_is_waited_on_not_taken_as_an_end(cometapi_sandbox):
    task_id = _submitted(cometapi_sandbox)
    cometapi_sandbox.inject(Fault(status=200, body=paused(task_id), method="GET", count=3))
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "succeed"
    assert cometapi_sandbox.stats()["faults_served"] == {"200/raw": 3}


def test_a_deadline_that_passes_gives_a_timeout_with_the_last_status(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 60
    task_id = _submitted(cometapi_sandbox)
    started = time.time()
    [event] = _events(KlingTaskTrigger(task_id, deadline=started + 0.5, poll_interval=0.1, started_at=started - 100))
    assert event["status"] == "timeout" and time.time() - started < 5
    assert re.search(r"waited 10[01] s, last status '(submitted|processing)'", event["message"])


def test_a_deadline_already_past_gives_a_timeout_without_asking(cometapi_sandbox):
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() - 1, poll_interval=0.1))
    assert event["status"] == "timeout" and cometapi_sandbox.requests == []


@pytest.mark.parametrize("poll_interval", [0.05, 0.3])
def test_polls_follow_the_interval(cometapi_sandbox, poll_interval):
    cometapi_sandbox.render_seconds = 1.0
    task_id = _submitted(cometapi_sandbox)
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=poll_interval))
    polls = sum(1 for request in cometapi_sandbox.requests if request[0] == "GET")
    assert event["status"] == "succeed"
    assert 1.0 / poll_interval * 0.5 <= polls <= 1.0 / poll_interval + 3
