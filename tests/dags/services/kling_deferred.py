"""The DAGs that the real-Airflow tests trigger through the scheduler, one per sandbox profile (kling_<profile>)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

for profile in ("cometapi", "kling"):
    with DAG(
        f"kling_deferred_{profile}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False
    ):
        KlingText2VideoOperator(
            task_id="generate",
            prompt="A hot-air balloon over {{ params.place }}",
            params={"place": "Cappadocia"},
            kling_conn_id=f"kling_{profile}",
            deferrable=True,
            poll_interval=0.5,
            retries=0,
        )
