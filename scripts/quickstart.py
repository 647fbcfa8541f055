"""Run the ``kling_quickstart`` example DAG end to end with a local Airflow and store the video.

Without ``KLING_API_KEY`` a local Kling sandbox stands in for CometAPI (nothing is spent); with it,
the real service is used (``KLING_BASE_URL`` overrides its address). Airflow's home, its SQLite DB
and the videos live under ``KLING_DEMO_DIR`` (default ``.kling-demo/``), so a second run reuses
the set-up. Prints where the video is and how long each step took; exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("KLING_DEMO_DIR", REPO / ".kling-demo")).resolve()
DAG_ID = "kling_quickstart"
steps: list[tuple[str, float]] = []


def step(name: str, started: float) -> None:
    steps.append((name, time.monotonic() - started))
    print(f"  done: {name} ({steps[-1][1]:.1f} s)", flush=True)


def configure(home: Path, videos: Path, poll_interval: float) -> None:
    bundle = {
        "name": "examples",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(REPO / "example_dags")},
    }
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "KLING_OUTPUT_PATH": f"file://{videos}",
            "KLING_POLL_INTERVAL": str(poll_interval),
        }
    )


def show_progress(done: threading.Event, started: float) -> None:
    while not done.wait(5):
        print(f"  ... waiting for the video ({time.monotonic() - started:.0f} s)", flush=True)


def stored_result(dag_run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == DAG_ID,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == "generate",
                XComModel.key == "return_value",
            )
        )


def run() -> Path:
    api_key = os.environ.get("KLING_API_KEY")
    home, videos = DEMO / "airflow", DEMO / "videos"
    home.mkdir(parents=True, exist_ok=True)
    configure(home, videos, poll_interval=10 if api_key else 1)
    with ExitStack() as stack:
        started = time.monotonic()
        if api_key:
            host = os.environ.get("KLING_BASE_URL", "https://api.cometapi.com")
            print(f"Using CometAPI at {host} (KLING_API_KEY is set: this generation is paid for)")
        else:
            from airflow_provider_kling.sandbox import KlingSandbox

            api_key = f"sandbox-{secrets.token_hex(8)}"
            sandbox = stack.enter_context(KlingSandbox(api_key=api_key, render_seconds=5))
            host = sandbox.url
            print(f"No KLING_API_KEY: using the local Kling sandbox at {host} (nothing is spent)")
        os.environ["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps({"conn_type": "kling", "host": host, "password": api_key})
        step("start the Kling endpoint", started)

        started = time.monotonic()
        if (home / "airflow.db").exists():
            print(f"Reusing the Airflow metadata DB in {home}")
        else:
            print(f"Creating the Airflow metadata DB in {home}")
            subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        step("prepare Airflow", started)

        started = time.monotonic()
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(str(REPO / "example_dags"))
        if bag.import_errors:
            raise RuntimeError(f"example DAGs failed to import: {bag.import_errors}")
        step("load the example DAGs", started)

        started = time.monotonic()
        print(f"Running {DAG_ID}: submit, wait for Kling, store the video")
        done = threading.Event()
        threading.Thread(target=show_progress, args=(done, started), daemon=True).start()
        try:
            dag_run = bag.dags[DAG_ID].test()
        finally:
            done.set()
        if dag_run.state != "success":
            raise RuntimeError(f"the DAG run ended {dag_run.state}; see the task log above")
        step(f"run {DAG_ID}", started)

    video = stored_result(dag_run)["task_result"]["videos"][0]
    path = Path(video["stored_path"].removeprefix("file://"))
    if path.read_bytes()[4:8] != b"ftyp":
        raise RuntimeError(f"{path} is not an MP4 file")
    print(f"\nVideo URL:  {video['url']}")
    print(f"Stored at:  {path} ({path.stat().st_size} bytes)")
    print("Timings:    " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps))
    return path


def main() -> int:
    try:
        run()
    except Exception as error:
        print(f"\nquickstart failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
