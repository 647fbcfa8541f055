"""DAGs that the test suite runs with dag.test() against the sandbox (conn kling_default)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.audio import KlingTextToAudioOperator, KlingVideoToAudioOperator
from airflow_provider_kling.operators.effects import KlingVideoEffectsOperator
from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.operators.lip_sync import KlingAdvancedLipSyncOperator, KlingLipSyncOperator
from airflow_provider_kling.operators.multi_elements import KlingMultiElementsOperator
from airflow_provider_kling.operators.multi_image2video import KlingMultiImage2VideoOperator
from airflow_provider_kling.operators.omni_video import KlingOmniVideoOperator
from airflow_provider_kling.operators.video_extend import KlingVideoExtendOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
FAST = {"poll_interval": 0.1, "retries": 0}

for deferrable in (False, True):
    with DAG(f"kling_generate_{'deferrable' if deferrable else 'blocking'}", schedule=None, start_date=START):
        KlingText2VideoOperator(
            task_id="generate",
            prompt="A paper boat on a {{ params.water }} at dawn",
            params={"water": "pond"},
            duration=5,
            aspect_ratio="9:16",
            deferrable=deferrable,
            **FAST,
        )

#: The example DAGs' still image: a 320x320 PNG.
STILL = str(Path(__file__).resolve().parents[3] / "example_dags" / "still.png")

for deferrable in (False, True):
    with DAG(f"kling_image_family_{'deferrable' if deferrable else 'blocking'}", schedule=None, start_date=START):
        animate = KlingImage2VideoOperator(
            task_id="animate", image=STILL, image_tail=f"file://{STILL}", prompt="dawn", deferrable=deferrable, **FAST
        )
        extend = KlingVideoExtendOperator(
            task_id="extend",
            video_id="{{ ti.xcom_pull(task_ids='animate')['task_result']['videos'][0]['id'] }}",
            parent_task_id="{{ ti.xcom_pull(task_ids='animate')['task_id'] }}",
            prompt="and then day",
            deferrable=deferrable,
            **FAST,
        )
        animate >> extend
        KlingMultiImage2VideoOperator(
            task_id="combine",
            image_list=[STILL, {"image": "https://images.example/b.jpg"}],
            prompt="two stills, one scene",
            deferrable=deferrable,
            **FAST,
        )

#: Where the media family stores its videos (below the test run's AIRFLOW_HOME).
MEDIA_FOLDER = f"{os.environ.get('AIRFLOW_HOME', '/tmp')}/media-family"

for deferrable in (False, True):
    with DAG(f"kling_media_family_{'deferrable' if deferrable else 'blocking'}", schedule=None, start_date=START):
        stored = {"output_path": MEDIA_FOLDER, "deferrable": deferrable, **FAST}
        presenter = KlingText2VideoOperator(task_id="presenter", prompt="a presenter", deferrable=deferrable, **FAST)
        speak = KlingLipSyncOperator(
            task_id="speak",
            mode="text2video",
            video_id="{{ ti.xcom_pull(task_ids='presenter')['task_result']['videos'][0]['id'] }}",
            parent_task_id="{{ ti.xcom_pull(task_ids='presenter')['task_id'] }}",
            text="Good morning",
            voice_id="girlfriend_1_speech02",
            **stored,
        )
        sound = KlingVideoToAudioOperator(
            task_id="sound",
            video_id="{{ ti.xcom_pull(task_ids='presenter')['task_result']['videos'][0]['id'] }}",
            bgm_prompt="calm piano",
            **stored,
        )
        swap = KlingMultiElementsOperator(
            task_id="swap",
            edit_mode="swap",
            prompt="Swap the mug from <<<image_1>>> for the cup in <<<video_1>>>",
            video_url="{{ ti.xcom_pull(task_ids='presenter')['task_result']['videos'][0]['url'] }}",
            selections=[{"frame_index": 12, "points": [{"x": 0.5, "y": 0.6}]}],
            image_list=[STILL],
            **stored,
        )
        presenter >> [speak, sound, swap]
        KlingTextToAudioOperator(task_id="jingle", prompt="a short cheerful jingle", duration=5, **stored)
        KlingOmniVideoOperator(
            task_id="omni",
            prompt="<<<image_1>>> comes alive",
            image_list=[{"image_url": STILL, "type": "first_frame"}],
            duration=5,
            **stored,
        )
        KlingVideoEffectsOperator(task_id="effect", effect_scene="bloombloom", image=STILL, **stored)
        KlingVideoEffectsOperator(
            task_id="hug", effect_scene="hug", images=[STILL, "https://images.example/b.jpg"], duration=10, **stored
        )

# Kling's own API only: CometAPI documents no route to read a two-step lip-sync.
for deferrable in (False, True):
    with DAG(f"kling_face_sync_{'deferrable' if deferrable else 'blocking'}", schedule=None, start_date=START):
        clip = KlingText2VideoOperator(task_id="clip", prompt="a presenter", deferrable=deferrable, **FAST)
        clip >> KlingAdvancedLipSyncOperator(
            task_id="sync",
            video_id="{{ ti.xcom_pull(task_ids='clip')['task_result']['videos'][0]['id'] }}",
            sound_file="https://audio.example/line.mp3",
            sound_end_time=4000,
            output_path=MEDIA_FOLDER,
            deferrable=deferrable,
            **FAST,
        )

with DAG("kling_fails", schedule=None, start_date=START):
    KlingText2VideoOperator(task_id="generate", prompt="sandbox:fail a cat", deferrable=True, **FAST)

with DAG("kling_fails_blocking", schedule=None, start_date=START):
    KlingText2VideoOperator(task_id="generate", prompt="sandbox:fail a cat", deferrable=False, **FAST)

with DAG("kling_times_out", schedule=None, start_date=START, params={"deferrable": True}):
    # Timeouts long enough for a first poll on a busy machine (the message names the last status seen).
    KlingText2VideoOperator(task_id="deferred", prompt="a slow cat", deferrable=True, timeout=3, **FAST)
    KlingText2VideoOperator(task_id="blocking", prompt="a slow dog", deferrable=False, timeout=3, **FAST)

with DAG("kling_submit_then_sense", schedule=None, start_date=START):
    submit = KlingText2VideoOperator(task_id="submit", prompt="a lighthouse", wait_for_completion=False, **FAST)
    task_id = "{{ ti.xcom_pull(task_ids='submit')['task_id'] }}"
    submit >> [
        KlingTaskSensor(task_id="sense_deferred", kling_task_id=task_id, deferrable=True, poke_interval=0.1),
        KlingTaskSensor(task_id="sense_poking", kling_task_id=task_id, deferrable=False, poke_interval=0.1),
    ]

with DAG("kling_sensor_sees_failure", schedule=None, start_date=START):
    submit = KlingText2VideoOperator(
        task_id="submit", prompt="sandbox:fail a lighthouse", wait_for_completion=False, **FAST
    )
    submit >> KlingTaskSensor(
        task_id="sense",
        kling_task_id="{{ ti.xcom_pull(task_ids='submit')['task_id'] }}",
        deferrable=True,
        poke_interval=0.1,
        retries=3,
    )

with DAG("kling_sensor_times_out", schedule=None, start_date=START):
    submit = KlingText2VideoOperator(task_id="submit", prompt="a glacier", wait_for_completion=False, **FAST)
    for soft_fail in (False, True):
        submit >> KlingTaskSensor(
            task_id=f"sense_{'soft' if soft_fail else 'hard'}",
            kling_task_id="{{ ti.xcom_pull(task_ids='submit')['task_id'] }}",
            timeout=0.3,
            soft_fail=soft_fail,
            deferrable=True,
            poke_interval=0.1,
        )

with DAG("kling_mapped", schedule=None, start_date=START):
    KlingText2VideoOperator.partial(task_id="generate", deferrable=True, **FAST).expand(
        prompt=["a red kite", "a blue whale", "a green hill"]
    )

with DAG("kling_retries_after_a_failed_generation", schedule=None, start_date=START):
    KlingText2VideoOperator(
        task_id="generate",
        prompt="{{ 'sandbox:fail ' if ti.try_number == 1 else '' }}a phoenix",
        deferrable=False,
        poll_interval=0.1,
        retries=1,
        retry_delay=timedelta(0),
    )

#: Generations in the chaos DAG, a tenth of them doomed by the sandbox (the README's figures use 100).
CHAOS_GENERATIONS = int(os.environ.get("KLING_CHAOS_GENERATIONS", "40"))

with DAG("kling_chaos", schedule=None, start_date=START):
    KlingText2VideoOperator.partial(
        task_id="generate", deferrable=False, poll_interval=0.1, retries=2, retry_delay=timedelta(0)
    ).expand(prompt=[f"chaos scene {number}" for number in range(CHAOS_GENERATIONS * 9 // 10)])
    KlingText2VideoOperator.partial(task_id="doomed", deferrable=False, poll_interval=0.1, retries=0).expand(
        prompt=[f"sandbox:fail chaos scene {number}" for number in range(CHAOS_GENERATIONS // 10)]
    )

with DAG(
    "kling_bad_input",
    schedule=None,
    start_date=START,
    params={"duration": "7", "task": "", "mode": "turbo", "folder": "videos/today"},
):
    KlingText2VideoOperator(task_id="templated_duration", prompt="a cat", duration="{{ params.duration }}", retries=2)
    KlingText2VideoOperator(task_id="empty_prompt", prompt="{{ params.task }}", retries=2)
    KlingText2VideoOperator(task_id="templated_mode", prompt="a cat", mode="{{ params.mode }}", retries=2)
    KlingText2VideoOperator(
        task_id="relative_output_path", prompt="a cat", output_path="{{ params.folder }}", retries=2
    )
    KlingTaskSensor(task_id="empty_task_id", kling_task_id="{{ params.task }}", retries=2, deferrable=True)

for policy in ("resubmit", "fail"):
    with DAG(f"kling_lost_answer_{policy}", schedule=None, start_date=START):
        KlingText2VideoOperator(
            task_id="generate",
            prompt="a heron in the reeds",
            on_unknown_submission=policy,
            deferrable=False,
            poll_interval=0.1,
            retries=1,
            retry_delay=timedelta(0),
        )
