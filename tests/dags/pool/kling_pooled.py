"""The pool test's DAG: a deferred fan-out in the ``kling`` pool, wider than the pool and the account."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

WIDTH = 6

with DAG("kling_pooled", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    # One retry, as users should set: Airflow 3.0-3.2's scheduler now and then fails a deferred task whose executor
    # event it reads after the trigger's (apache/airflow#66374); the retry takes up the same generation.
    KlingText2VideoOperator.partial(
        task_id="generate", pool="kling", deferrable=True, poll_interval=0.5, retries=1, retry_delay=1
    ).expand(prompt=[f"A lantern on step {number}" for number in range(WIDTH)])
