"""What each generation cost: the units Kling charged, in the task log, the XCom value and Airflow's metrics.

Kling reports the units a task was charged as ``final_unit_deduction`` (a string) on the task object once
it has ended; a service that reports none leaves the cost "unknown", never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from airflow.providers.common.compat.sdk import Stats

#: What the cost of a generation is when the service reports none.
UNKNOWN = "unknown"
#: The key of the task object (the XCom value) that holds the units charged, or :data:`UNKNOWN`.
UNITS_KEY = "units_charged"
#: A counter of the units charged, tagged with ``conn_id``, ``endpoint``, ``model`` and ``mode``.
UNITS_METRIC = "kling.units_charged"
#: A counter of succeeded generations, with the same tags and ``cost`` (``reported`` or ``unknown``).
GENERATIONS_METRIC = "kling.generations"


class _Log(Protocol):
    def info(self, msg: str, *args: Any) -> None: ...


def units_charged(task: Mapping[str, Any]) -> str:
    """
    Return the units Kling charged for a task, as it reported them (``final_unit_deduction``), or ``"unknown"``.

    :param task: Kling's task object.
    """
    value = task.get("final_unit_deduction")
    if isinstance(value, bool):
        return UNKNOWN
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    try:
        number = float(text)
    except ValueError:
        return UNKNOWN
    return text if math.isfinite(number) and number >= 0 else UNKNOWN


def metric_tags(conn_id: str, endpoint: str, model: Any = None, mode: Any = None) -> dict[str, str]:
    """
    Return the tags of a generation's metrics; a model or mode left to the service is ``default``.

    :param conn_id: the Kling connection's id.
    :param endpoint: the endpoint the task was submitted to.
    :param model: the ``model_name`` sent, if any.
    :param mode: the ``mode`` sent, if any.
    """
    return {
        "conn_id": conn_id,
        "endpoint": endpoint,
        "model": str(model) if model is not None else "default",
        "mode": str(mode) if mode is not None else "default",
    }


def report_cost(task: dict[str, Any], tags: Mapping[str, str], log: _Log) -> dict[str, Any]:
    """
    Note what a succeeded generation cost on its task object (:data:`UNITS_KEY`), log it, and count it in Airflow's
    metrics (:data:`UNITS_METRIC` and :data:`GENERATIONS_METRIC`, through the Stats API that StatsD and
    OpenTelemetry read); return the task object.

    :param task: the succeeded task object, which the XCom value is.
    :param tags: the metrics' tags (see :func:`metric_tags`).
    :param log: the task's log.
    """
    units = units_charged(task)
    task[UNITS_KEY] = units
    if units == UNKNOWN:
        log.info("Kling task %s: units charged unknown (the service reported no final_unit_deduction)", task["task_id"])
    else:
        log.info("Kling task %s: %s units charged", task["task_id"], units)
        # Units may be fractions: StatsD and OpenTelemetry counters take them, though Airflow's signature says int.
        Stats.incr(UNITS_METRIC, count=float(units), tags=dict(tags))  # type: ignore[arg-type]
    Stats.incr(GENERATIONS_METRIC, tags={**tags, "cost": "unknown" if units == UNKNOWN else "reported"})
    return task
