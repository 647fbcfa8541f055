"""The fan-out benchmark's DAGs: one mapped fan-out wider than the account, without a pool and in a pool of the
account's size (KLING_BENCH_POOL)."""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

GENERATIONS = int(os.environ.get("KLING_BENCH_GENERATIONS", "30"))
POLL_INTERVAL = float(os.environ.get("KLING_BENCH_POLL_INTERVAL", "10"))

for name, pool in (("kling_fan_out", None), ("kling_fan_out_pooled", os.environ.get("KLING_BENCH_POOL", "kling"))):
    with DAG(name, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
        KlingText2VideoOperator.partial(
            task_id="generate",
            deferrable=True,
            poll_interval=POLL_INTERVAL,
            timeout=7200,
            **({"pool": pool} if pool else {}),
        ).expand(prompt=[f"Scene {number} of the fan-out benchmark" for number in range(GENERATIONS)])
