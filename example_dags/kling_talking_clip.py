"""
From a prompt to a talking clip: generate a presenter with Kling, then make them say a line (lip-sync), stored.

The lip-sync takes the first video's id and its task id from the generation's XCom, with no glue code; a Kling
voice reads the ``line`` param. Connection: as for ``kling_quickstart``.
"""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.operators.lip_sync import KlingLipSyncOperator

POLL_INTERVAL = float(os.environ.get("KLING_POLL_INTERVAL", "10"))

with DAG(
    dag_id="kling_talking_clip",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["kling", "example"],
    doc_md=__doc__,
    params={
        "line": Param("Good morning! Here is today's weather.", type="string", maxLength=120),
        "output_path": Param(os.environ.get("KLING_OUTPUT_PATH", "file:///tmp/kling-videos"), type="string"),
    },
):
    presenter = KlingText2VideoOperator(
        task_id="presenter",
        prompt="A friendly news presenter facing the camera in a bright studio, medium close-up",
        model_name="kling-v1-6",
        duration=5,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    speak = KlingLipSyncOperator(
        task_id="speak",
        mode="text2video",
        video_id="{{ ti.xcom_pull(task_ids='presenter')['task_result']['videos'][0]['id'] }}",
        parent_task_id="{{ ti.xcom_pull(task_ids='presenter')['task_id'] }}",
        text="{{ params.line }}",
        voice_id="girlfriend_1_speech02",
        voice_language="en",
        output_path="{{ params.output_path }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    presenter >> speak
