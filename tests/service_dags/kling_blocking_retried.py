"""A blocking (non-deferrable) generation with retries, for the worker-crash test, one per sandbox profile."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

for profile in ("cometapi", "kling"):
    with DAG(
        f"kling_blocking_retried_{profile}",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
    ):
        KlingText2VideoOperator(
            task_id="generate",
            prompt="A fox crossing a frozen river",
            kling_conn_id=f"kling_{profile}",
            deferrable=False,
            poll_interval=0.5,
            retries=2,
            retry_delay=timedelta(seconds=1),
        )
