"""The worker-slot benchmark's DAGs: the same generations, waited for in the triggerer or in worker slots."""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

GENERATIONS = int(os.environ.get("KLING_BENCH_GENERATIONS", "20"))

for mode, deferrable in (("deferrable", True), ("blocking", False)):
    with DAG(f"kling_slots_{mode}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
        KlingText2VideoOperator.partial(task_id="generate", deferrable=deferrable, poll_interval=1).expand(
            prompt=[f"Scene {number} of the worker-slot benchmark" for number in range(GENERATIONS)]
        )
