"""The DAG of the production-shape test (PostgreSQL, Celery, two triggerers): the deferrable operator, the sensor
waiting on a submit-only task, and a mapped fan-out, all waiting in the triggerers at once."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

#: No retries: a wait lost with its triggerer must fail the test, not be paid for again by a retry.
DEFERRED = {"deferrable": True, "poll_interval": 1, "retries": 0}
FAN_OUT = [f"A paper boat on canal {number}" for number in range(6)]


@task
def first_video(generation: dict) -> str:
    """What a downstream task does with the operator's XCom value: read the task object."""
    return generation["task_result"]["videos"][0]["url"]


with DAG("kling_production", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    first_video(KlingText2VideoOperator(task_id="generate", prompt="A tram in Lisbon at dawn", **DEFERRED).output)
    submit = KlingText2VideoOperator(task_id="submit", prompt="A lighthouse in a storm", wait_for_completion=False)
    submit >> KlingTaskSensor(
        task_id="wait",
        kling_task_id="{{ ti.xcom_pull(task_ids='submit')['task_id'] }}",
        deferrable=True,
        poke_interval=1,
        retries=0,
    )
    KlingText2VideoOperator.partial(task_id="fan_out", **DEFERRED).expand(prompt=FAN_OUT)
