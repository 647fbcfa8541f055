"""
Quickstart: one prompt, one video.

Needs a ``kling_default`` connection (the CometAPI key in its password), or the local sandbox:
``kling-sandbox`` and ``AIRFLOW_CONN_KLING_DEFAULT='{"conn_type": "kling", "host": "http://127.0.0.1:8787",
"password": "sandbox-key"}'``. The video is stored under the ``output_path`` param (a folder URL).
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

with DAG(
    dag_id="kling_quickstart",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["kling", "example"],
    doc_md=__doc__,
    params={
        "prompt": Param("A paper boat drifting across a pond at sunrise, cinematic", type="string", maxLength=500),
        "output_path": Param(os.environ.get("KLING_OUTPUT_PATH", "file:///tmp/kling-videos"), type="string"),
    },
):
    generate = KlingText2VideoOperator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model_name="kling-v3",
        duration=5,
        aspect_ratio="16:9",
        mode="std",
        sound="off",
        output_path="{{ params.output_path }}",
        deferrable=True,
        poll_interval=float(os.environ.get("KLING_POLL_INTERVAL", "10")),
    )

    @task
    def print_video(result: dict) -> str:
        video = result["task_result"]["videos"][0]
        print(f"Video URL: {video['url']}")
        print(f"Stored at: {video['stored_path']} ({video['stored_bytes']} bytes)")
        return video["stored_path"]

    print_video(generate.output)
