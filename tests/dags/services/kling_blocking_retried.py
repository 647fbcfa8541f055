"""Blocking (non-deferrable) generations with retries, for the worker-crash test, one DAG per sandbox profile:
text-to-video and image-to-video side by side, both inside their wait when the worker dies."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator
from airflow_provider_kling.operators.kling import KlingText2VideoOperator

RETRIED = {"deferrable": False, "poll_interval": 0.5, "retries": 2, "retry_delay": timedelta(seconds=1)}

for profile in ("cometapi", "kling"):
    with DAG(
        f"kling_blocking_retried_{profile}",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
    ):
        KlingText2VideoOperator(
            task_id="generate", prompt="A fox crossing a frozen river", kling_conn_id=f"kling_{profile}", **RETRIED
        )
        KlingImage2VideoOperator(
            task_id="animate", image="https://images.example/fox.png", kling_conn_id=f"kling_{profile}", **RETRIED
        )
