"""
Submit now, wait later: submit without waiting, then a deferrable sensor waits for the video.

Useful when the wait belongs elsewhere (another DAG, after other work). The sensor retries on
transient trouble; a generation that Kling fails fails the sensor at once (a retry cannot change
it) and ``on_failure_callback`` raises the alert, here a log line you would replace with Slack,
email or PagerDuty.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

log = logging.getLogger(__name__)
POLL_INTERVAL = float(os.environ.get("KLING_POLL_INTERVAL", "10"))


def alert_on_failure(context) -> None:
    ti = context["ti"]
    log.error("ALERT: %s.%s failed: %s", ti.dag_id, ti.task_id, context.get("exception"))


with DAG(
    dag_id="kling_submit_now_wait_later",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["kling", "example"],
    doc_md=__doc__,
    params={"prompt": "A koi pond in the rain, top-down view"},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "on_failure_callback": alert_on_failure},
):
    submit = KlingText2VideoOperator(
        task_id="submit", prompt="{{ params.prompt }}", mode="pro", wait_for_completion=False
    )

    wait = KlingTaskSensor(
        task_id="wait_for_video",
        kling_task_id="{{ ti.xcom_pull(task_ids='submit')['task_id'] }}",
        deferrable=True,
        poke_interval=POLL_INTERVAL,
        timeout=timedelta(hours=1).total_seconds(),
    )

    @task
    def publish(result: dict) -> str:
        return result["task_result"]["videos"][0]["url"]

    submit >> wait
    publish(wait.output)
