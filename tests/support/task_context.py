"""What a task's context holds for the operator and the sensor called in this process, without a task runner."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

TASK_INSTANCE = {"dag_id": "calendar", "task_id": "generate", "run_id": "scheduled__2026-11-23", "map_index": -1}


class StateStore(dict):
    """The task state store's two calls, over a dict: what a try leaves is what the next try reads."""

    def set(self, key: str, value: dict[str, Any]) -> None:
        self[key] = value


class OutletEvents(dict):
    """The outlet events of a task, by asset URI (Airflow 2's ``Dataset`` is not hashable): an ``extra`` each."""

    def __getitem__(self, outlet: Any) -> SimpleNamespace:
        return self.setdefault(outlet.uri, SimpleNamespace(extra={}))


class TaskInstance(SimpleNamespace):
    """A task instance's identity and try, keeping what it is asked to push to XCom (Airflow 2's link URL)."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def task_context(try_number: int = 1, store: StateStore | None = None) -> dict[str, Any]:
    """A context for one try of the task instance :data:`TASK_INSTANCE`."""
    return {
        "ti": TaskInstance(**TASK_INSTANCE, try_number=try_number, pushed={}),
        "task_state_store": StateStore() if store is None else store,
        "outlet_events": OutletEvents(),
    }
