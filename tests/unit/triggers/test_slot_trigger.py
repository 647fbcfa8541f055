"""Fast: the wait for a free slot on the account in the triggerer, and the one event it yields for each way it ends."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest
from conftest import SECRET_KEY, connection_json

from airflow_provider_kling import concurrency
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.triggers.kling import KlingSlotTrigger, KlingTaskTrigger


def _recreated(serialized: tuple[str, dict]) -> KlingSlotTrigger:
    """The trigger as a triggerer builds it from the row Airflow stored: its class by path, its kwargs."""
    classpath, kwargs = serialized
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


async def _first_event(trigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def test_a_restarted_triggerer_puts_the_wait_back_with_its_deadline_place_and_refusals():
    trigger = KlingSlotTrigger("kling_eu", deadline=1_900_000_000.5, waiting_since=1_800_000_000.25, refusals=3)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.kling.KlingSlotTrigger"
    assert kwargs == {
        "kling_conn_id": "kling_eu",
        "deadline": 1_900_000_000.5,
        "waiting_since": 1_800_000_000.25,
        "refusals": 3,
    }
    assert _recreated(trigger.serialize()).serialize() == (classpath, kwargs)


def test_a_task_of_the_account_that_ends_in_the_triggerer_releases_the_wait(sandbox, monkeypatch):
    sandbox.render_seconds = 0.4
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, retry_delay=60))  # no probe before
    rendering = KlingHook().create_text2video("a fox")

    async def scenario():
        poll = asyncio.ensure_future(
            _first_event(KlingTaskTrigger(rendering["task_id"], deadline=time.time() + 20, poll_interval=0.05))
        )
        slot = KlingSlotTrigger("kling_default", deadline=deadline, waiting_since=since, refusals=2)
        event = await asyncio.wait_for(_first_event(slot), 20)
        return event, (await poll)["status"]

    deadline, since = time.time() + 20, time.time() - 30
    event, polled = asyncio.run(scenario())
    assert polled == "succeed"
    assert {key: event[key] for key in ("status", "deadline", "waiting_since", "refusals")} == {
        "status": "slot",
        "deadline": deadline,
        "waiting_since": since,
        "refusals": 2,
    }
    assert event["message"].startswith("A slot may be free on the Kling account (a task on the account ended): ")
    assert event["message"].endswith(" s of waiting")


def test_the_wait_refused_first_is_released_first_even_when_it_rejoined_later(sandbox, monkeypatch):
    sandbox.render_seconds = 0.4
    rendering = KlingHook().create_text2video("a fox")
    monkeypatch.setattr(concurrency, "SLOT_PAUSE_SHARES", (1.0, 1.0))
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, retry_delay=60))  # no probes

    async def scenario():
        deadline = time.time() + 20
        newer = asyncio.ensure_future(_first_event(KlingSlotTrigger("kling_default", deadline, waiting_since=200.0)))
        await asyncio.sleep(0.1)  # the newer wait joins first; the older one comes back after a restart
        older = asyncio.ensure_future(_first_event(KlingSlotTrigger("kling_default", deadline, waiting_since=100.0)))
        await _first_event(KlingTaskTrigger(rendering["task_id"], deadline=deadline, poll_interval=0.05))
        event = await asyncio.wait_for(older, 5)
        await asyncio.sleep(0.1)
        assert not newer.done()
        newer.cancel()
        return event

    assert asyncio.run(scenario())["waiting_since"] == 100.0


@pytest.mark.parametrize(("key", "released"), [(SECRET_KEY, True), ("another-key", False)])
def test_only_a_task_of_the_same_account_releases_the_wait(sandbox, monkeypatch, key, released):
    # The account is the key at the base URL: a connection with other settings but the same key shares its slots.
    sandbox.render_seconds = 0.2
    monkeypatch.setenv("AIRFLOW_CONN_KLING_OTHER", connection_json(sandbox, retry_delay=60, timeout=30))
    other = KlingHook("kling_other").create_text2video("a fox")
    monkeypatch.setenv("AIRFLOW_CONN_KLING_WAITING", connection_json(sandbox, key=key, retry_delay=60))

    async def scenario():
        deadline = time.time() + 1
        slot = asyncio.ensure_future(_first_event(KlingSlotTrigger("kling_waiting", deadline, time.time())))
        poll = KlingTaskTrigger(other["task_id"], time.time() + 20, kling_conn_id="kling_other", poll_interval=0.05)
        await _first_event(poll)
        return await asyncio.wait_for(slot, 5)

    assert asyncio.run(scenario())["status"] == ("slot" if released else "timeout")


def test_a_wait_with_no_slot_by_its_deadline_ends_in_a_timeout_naming_how_long(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, retry_delay=60))
    since = time.time() - 120
    trigger = KlingSlotTrigger("kling_default", deadline=time.time() + 0.3, waiting_since=since, refusals=4)
    event = asyncio.run(asyncio.wait_for(_first_event(trigger), 10))
    assert event == {
        "status": "timeout",
        "message": "No free slot on the Kling account within the task's timeout: waited 120 s, refused 4 times for "
        "the account's concurrency",
    }
    assert cometapi_sandbox.requests == []  # a wait for a slot asks the service nothing


def test_the_wait_logs_how_long_it_has_waited_and_how_many_are_ahead(cometapi_sandbox, monkeypatch, caplog, capfd):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, retry_delay=60))

    async def scenario():
        deadline = time.time() + 0.5
        first = asyncio.ensure_future(_first_event(KlingSlotTrigger("kling_default", deadline, time.time() - 1)))
        await asyncio.sleep(0.05)
        await _first_event(KlingSlotTrigger("kling_default", deadline, time.time() - 65, refusals=2))
        await first

    asyncio.run(asyncio.wait_for(scenario(), 10))
    logged = caplog.text + capfd.readouterr().out
    assert (
        "Waiting for a free slot on the Kling account (its concurrency is full; refused 2 times): 65 s so far, "
        "0 waits ahead in this triggerer" in logged
    )
    assert "refused 1 times): 1 s so far, 0 waits ahead" in logged


def test_a_connection_without_a_key_ends_the_wait_with_an_error_no_retry_fixes(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", json.dumps({"conn_type": "kling", "host": cometapi_sandbox.url}))
    event = asyncio.run(_first_event(KlingSlotTrigger("kling_default", time.time() + 5, time.time())))
    assert event["status"] == "error" and event["retryable"] is False and "has no API key set" in event["message"]
