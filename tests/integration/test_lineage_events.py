"""OpenLineage: a real run of the quickstart, its events written by apache-airflow-providers-openlineage, read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from conftest import AIRFLOW_HOME, REPO, SECRET_KEY

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")

RUN_QUICKSTART = """
import sys
from support.airflow_lines import load_dags
load_dags(sys.argv[1]).get_dag("kling_quickstart").test()
"""


def test_the_quickstart_reports_the_stored_video_and_never_the_temporary_file(cometapi_sandbox, airflow_db, tmp_path):
    # In a process of its own: the provider reads its transport once per process.
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "tests"),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_QUICKSTART, str(REPO / "example_dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = events_file.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    [complete] = [
        event
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"] == "kling_quickstart.generate"
    ]
    [task] = cometapi_sandbox.tasks.values()
    service = urlsplit(cometapi_sandbox.url)
    video = urlsplit(task.as_json(cometapi_sandbox.url)["task_result"]["videos"][0]["url"])
    assert complete["outputs"] == [
        {"namespace": "file", "name": str(AIRFLOW_HOME / "videos" / f"{task.task_id}_0.mp4"), "facets": {}}
    ]
    assert [(dataset["namespace"], dataset["name"]) for dataset in complete["inputs"]] == [
        (f"http://{video.hostname}:{video.port}", video.path)
    ]
    query = complete["run"]["facets"]["externalQuery"]
    assert (query["externalQueryId"], query["source"]) == (task.task_id, f"http://{service.hostname}:{service.port}")
    assert ".part" not in text and SECRET_KEY not in text
