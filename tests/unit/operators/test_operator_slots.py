"""
Fast: what a try of the operator does when the account's concurrency is full, against the sandbox's limit: it
waits for a free slot (deferred in the triggerer, blocking in its worker) and never pays for a generation twice.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from support.task_context import TASK_INSTANCE, StateStore, task_context

from airflow_provider_kling.exceptions import KlingWaitTimeoutError
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

BASE = KlingText2VideoOperator._derived_id({"ti": SimpleNamespace(**TASK_INSTANCE)})
SLOT_TRIGGER = "airflow_provider_kling.triggers.kling.KlingSlotTrigger"


@pytest.fixture
def full(sandbox):
    """An account that renders one task at a time, busy with a task of an hour."""
    sandbox.concurrency = 1
    sandbox.render_seconds = 3600
    KlingHook().create_text2video("another DAG's video")
    sandbox.render_seconds = 0.15
    return sandbox


def _operator(**kwargs: Any) -> KlingText2VideoOperator:
    return KlingText2VideoOperator(task_id="generate", prompt="a fox", poll_interval=0.05, **kwargs)


def _deferred(call) -> tuple[str, dict[str, Any], str]:
    with pytest.raises(TaskDeferred) as deferred:
        call()
    classpath, kwargs = deferred.value.trigger.serialize()
    return classpath, kwargs, deferred.value.method_name


def test_a_refused_deferrable_try_records_that_nothing_was_created_and_waits_for_a_slot_in_the_triggerer(full):
    context = task_context()
    before = time.time()
    classpath, kwargs, method = _deferred(lambda: _operator(deferrable=True, timeout=600).execute(context))
    assert (classpath, method) == (SLOT_TRIGGER, "submit_after_slot_wait")
    assert kwargs["kling_conn_id"] == "kling_default" and kwargs["refusals"] == 1
    assert before <= kwargs["waiting_since"] <= time.time()
    assert before + 600 <= kwargs["deadline"] <= time.time() + 600  # the task's timeout bounds the wait too
    assert context["task_state_store"][SUBMISSION_STATE_KEY] == {
        "generation": 1,
        "external_task_id": BASE,
        "refused": True,
    }
    assert full.stats()["requests"] == {"POST": 2} and len(full.tasks) == 1  # one try, not the hook's retries


def test_a_wait_released_without_a_free_slot_rejoins_at_its_place(full):
    context = task_context()
    _classpath, first, _method = _deferred(lambda: _operator(deferrable=True).execute(context))
    event = {"status": "slot", "message": "A slot may be free", **{k: first[k] for k in ("deadline", "refusals")}}
    event["waiting_since"] = first["waiting_since"]
    classpath, again, _method = _deferred(lambda: _operator(deferrable=True).submit_after_slot_wait(context, event))
    assert classpath == SLOT_TRIGGER
    assert again == {**first, "refusals": 2}
    assert [body["external_task_id"] for body in full.submissions[1:]] == [BASE, BASE]


def test_a_released_wait_submits_the_same_generation_then_waits_for_its_render(full):
    context = task_context()
    operator = _operator(deferrable=True)
    _classpath, slot, _method = _deferred(lambda: operator.execute(context))
    full.end_renders_in(0)  # the other DAG's video ends: a slot is free
    event = {"status": "slot", "message": "A slot may be free", **slot}
    del event["kling_conn_id"]
    classpath, kwargs, method = _deferred(lambda: operator.submit_after_slot_wait(context, event))
    assert (classpath, method) == ("airflow_provider_kling.triggers.kling.KlingTaskTrigger", "execute_complete")
    submitted = context["task_state_store"][SUBMISSION_STATE_KEY]
    assert submitted == {"generation": 1, "external_task_id": BASE, "task_id": kwargs["kling_task_id"]}
    assert kwargs["deadline"] == slot["deadline"]  # the timeout counts from the first try, not from the slot
    assert [body.get("external_task_id") for body in full.submissions] == [None, BASE, BASE]
    assert len(full.tasks) == 2


def test_a_wait_for_a_slot_that_timed_out_fails_the_try_retryably(full):
    event = {"status": "timeout", "message": "No free slot on the Kling account within the task's timeout: waited 9 s"}
    with pytest.raises(KlingWaitTimeoutError) as raised:
        _operator(deferrable=True).submit_after_slot_wait(task_context(), event)
    assert raised.value.retryable and str(raised.value) == event["message"]


def test_a_later_try_after_a_refusal_submits_the_same_generation_whatever_the_backend(full):
    # Nothing was created: no lookup, and on CometAPI no lost-submission policy, applies.
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 2, "external_task_id": f"{BASE}-2", "refused": True}})
    full.end_renders_in(0)
    task = _operator(on_unknown_submission="fail").execute(task_context(try_number=2, store=store))
    assert task["task_status"] == "succeed"
    assert [body.get("external_task_id") for body in full.submissions] == [None, f"{BASE}-2"]
    assert full.stats()["requests"]["GET"] >= 1 and "404" not in str(full.stats()["faults_served"])


def test_a_blocking_try_waits_for_a_slot_in_its_worker_and_succeeds(full, caplog, capfd):
    full.tasks[next(iter(full.tasks))].render_seconds = 0.4  # the other DAG's video ends soon
    task = _operator(timeout=30).execute(task_context())
    assert task["task_status"] == "succeed" and len(full.tasks) == 2
    assert "Waiting for a free slot on the Kling account" in caplog.text + capfd.readouterr().out


def test_a_blocking_try_waits_for_a_slot_no_longer_than_its_timeout(full):
    context = task_context()
    with pytest.raises(KlingWaitTimeoutError):
        _operator(timeout=0.5).execute(context)
    assert context["task_state_store"][SUBMISSION_STATE_KEY]["refused"] is True and len(full.tasks) == 1


def test_a_submission_whose_answer_was_lost_is_not_taken_for_a_refusal(cometapi_sandbox):
    # A lost answer may have created the task: the record stays unsure, for on_unknown_submission to decide.
    cometapi_sandbox.inject(Fault(drop=True, method="POST"))
    context = task_context()
    with pytest.raises(Exception, match="may have created a task"):
        _operator(deferrable=True, on_unknown_submission="fail").execute(context)
    assert "refused" not in context["task_state_store"][SUBMISSION_STATE_KEY]
