"""
From a still image to a longer clip: animate a stored image with Kling, then extend the clip it made.

The image is read from storage (a path or URL such as ``s3://bucket/still.png``, the ``image`` param;
by default the PNG beside this file) and sent as Base64; the extension takes the first video's id
from the animation's XCom, with no glue code. Connection: as for ``kling_quickstart``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator
from airflow_provider_kling.operators.video_extend import KlingVideoExtendOperator

POLL_INTERVAL = float(os.environ.get("KLING_POLL_INTERVAL", "10"))

with DAG(
    dag_id="kling_still_to_extended_clip",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["kling", "example"],
    doc_md=__doc__,
    params={
        "image": Param(str(Path(__file__).with_name("still.png")), type="string"),
        "output_path": Param(os.environ.get("KLING_OUTPUT_PATH", "file:///tmp/kling-videos"), type="string"),
    },
):
    animate = KlingImage2VideoOperator(
        task_id="animate",
        image="{{ params.image }}",
        prompt="The sky slowly turns from dawn to day, a gentle camera push-in",
        model_name="kling-v1-6",
        duration=5,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    extend = KlingVideoExtendOperator(
        task_id="extend",
        video_id="{{ ti.xcom_pull(task_ids='animate')['task_result']['videos'][0]['id'] }}",
        parent_task_id="{{ ti.xcom_pull(task_ids='animate')['task_id'] }}",
        prompt="The camera keeps rising above the clouds",
        output_path="{{ params.output_path }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    animate >> extend
