"""README.md's Python blocks run as a reader would run them, against the sandbox in each profile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pendulum
from conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)


def _block(starting: str) -> str:
    [block] = [block for block in BLOCKS if block.startswith(starting)]
    return block


def _last_run_state(dag_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(select(DagRun.state).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()


def test_every_link_works_on_a_package_index_too():
    # A package index shows the README without the source tree: a link is to the web or to a heading.
    links = re.findall(r"\]\(([^)]*)\)", (REPO / "README.md").read_text())
    assert links and [link for link in links if not link.startswith(("https://", "#"))] == []


def test_every_python_block_is_run_here():
    assert len(BLOCKS) == 3 and {block.splitlines()[0] for block in BLOCKS} == {
        "import pendulum",
        "from airflow_provider_kling.hooks.kling import KlingHook",
        "# kling_still_then_longer.py: a stored still image animated into a clip, then the clip extended",
    }


def test_the_hook_block_generates_and_stores_a_video_and_can_be_run_again(sandbox):
    sandbox.render_seconds = 0  # the block polls every 10 s: let the first poll find the video
    stored = Path("/tmp/fox.mp4")
    try:
        for _ in range(2):  # a second run: Kling's own API hands back the task holding "fox-1"
            namespace: dict = {}
            exec(compile(_block("from airflow_provider_kling.hooks"), "README.md", "exec"), namespace)
            assert namespace["task"]["task_status"] == "succeed"
            assert stored.read_bytes()[4:8] == b"ftyp"
        assert len(sandbox.tasks) == (2 if sandbox.profile == "cometapi" else 1)
    finally:
        stored.unlink(missing_ok=True)


def _run_as_a_dag_file(block: str, folder: Path) -> subprocess.CompletedProcess:
    """Run a block as a reader runs a DAG file: ``python <file>``, with the DAGs folder their Airflow has."""
    dag_file = folder / "readme_dag.py"
    dag_file.write_text(block)
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    env.pop("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST")  # a reader's Airflow: the DAGs folder only
    return subprocess.run([sys.executable, str(dag_file)], env=env, capture_output=True, text=True, timeout=300)


def test_the_dag_block_runs_with_python_as_the_readme_says(cometapi_sandbox, airflow_db, tmp_path):
    sandbox = cometapi_sandbox  # the connection the README sets up: CometAPI's
    sandbox.render_seconds = 0  # the trigger polls every 10 s: let its first poll find the video
    run = _run_as_a_dag_file(_block("import pendulum"), tmp_path)
    [task_id] = sandbox.tasks
    stored = Path(f"/tmp/kling-videos/{pendulum.now('UTC').to_date_string()}/{task_id}_0.mp4")
    try:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert _last_run_state("kling_first_video") == "success", run.stdout[-4000:] + run.stderr[-4000:]
        assert stored.read_bytes()[4:8] == b"ftyp"
    finally:
        stored.unlink(missing_ok=True)


def test_the_image_block_animates_the_stored_still_then_extends_the_clip(cometapi_sandbox, airflow_db, tmp_path):
    sandbox = cometapi_sandbox
    sandbox.render_seconds = 0  # the operators poll every 10 s: let the first poll find each video
    still = Path("/tmp/still.png")
    still.write_bytes((REPO / "example_dags" / "still.png").read_bytes())
    try:
        run = _run_as_a_dag_file(_block("# kling_still_then_longer.py"), tmp_path)
    finally:
        still.unlink()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert _last_run_state("kling_still_then_longer") == "success", run.stdout[-4000:] + run.stderr[-4000:]
    animation, extension = (sandbox.tasks[task_id] for task_id in sorted(sandbox.tasks))
    assert animation.endpoint == "image2video" and extension.endpoint == "video-extend"
    assert extension.body["video_id"] == f"{animation.task_id}-0"
