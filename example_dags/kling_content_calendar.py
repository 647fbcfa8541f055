"""
Scheduled content calendar: every day, generate one video per prompt of the day, then write a manifest.

The day's prompts come from ``prompts/content_calendar.json`` (by weekday, ``{date}`` filled in with
the run's date). Generations fan out with dynamic task mapping and wait in the triggerer, so
hundreds of them hold no worker slots. Each video is stored under ``KLING_OUTPUT_PATH/<date>/`` and
announced on the ``file:///kling/videos`` asset; ``kling_video_published`` runs on every such event.
The manifest says what each video cost and the run's total (the units Kling charged).

The generations run in the ``kling`` pool (``KLING_POOL`` names another), which caps how many Kling tasks
the deployment runs at once, deferred ones included, at the account's concurrency. Create it once::

    airflow pools set kling 5 "Kling account concurrency" --include-deferred

Without the pool the fan-out still succeeds: each submission beyond the account's limit waits for a free
slot in the triggerer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, ObjectStoragePath, task

from airflow_provider_kling.operators.kling import KlingText2VideoOperator

PROMPTS = Path(__file__).parent / "prompts" / "content_calendar.json"
OUTPUT = os.environ.get("KLING_OUTPUT_PATH", "file:///tmp/kling-videos")
NEW_VIDEOS = Asset(uri="file:///kling/videos")
KLING_POOL = os.environ.get("KLING_POOL", "kling")

with DAG(
    dag_id="kling_content_calendar",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=16,
    tags=["kling", "example"],
    doc_md=__doc__,
):

    @task
    def prompts_of_the_day(ds: str | None = None) -> list[str]:
        weekday = pendulum.parse(ds).format("dddd")
        return [prompt.format(date=ds) for prompt in json.loads(PROMPTS.read_text())[weekday]]

    videos = KlingText2VideoOperator.partial(
        task_id="generate",
        duration=5,
        aspect_ratio="9:16",
        output_path=f"{OUTPUT}/{{{{ ds }}}}",
        deferrable=True,
        poll_interval=float(os.environ.get("KLING_POLL_INTERVAL", "10")),
        retries=2,
        pool=KLING_POOL,
        outlets=[NEW_VIDEOS],
    ).expand(prompt=prompts_of_the_day())

    @task
    def write_manifest(results: list[dict], ds: str | None = None) -> str:
        manifest = ObjectStoragePath(f"{OUTPUT}/{ds}/manifest.json")
        entries = [
            {
                "kling_task_id": result["task_id"],
                "url": video["url"],
                "stored_path": video.get("stored_path"),
                "units_charged": result["units_charged"],
            }
            for result in results
            for video in result["task_result"]["videos"]
        ]
        costs = [result["units_charged"] for result in results]
        known = [float(units) for units in costs if units != "unknown"]
        summary = {"generations": len(costs), "units_charged": sum(known), "of_unknown_cost": len(costs) - len(known)}
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"date": ds, "videos": entries, "summary": summary}, indent=2))
        print(
            f"{ds}: {summary['generations']} videos, {summary['units_charged']:g} units charged"
            f" ({summary['of_unknown_cost']} of unknown cost)"
        )
        return str(manifest)

    write_manifest(videos.output)

with DAG(
    dag_id="kling_video_published",
    schedule=[NEW_VIDEOS],
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["kling", "example"],
):

    @task
    def announce(triggering_asset_events=None) -> list[str]:
        paths = [
            path
            for events in triggering_asset_events.values()
            for event in events
            for path in event.extra.get("stored_paths", [])
        ]
        print(f"New videos: {paths}")
        return paths

    announce()
