"""The README's main-job command, run as a new user would: twice, the second time reusing the set-up; then with a
wrong key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _quickstart(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "KLING_"))}
    clean.update(KLING_DEMO_DIR=str(tmp_path), KLING_VENV=sys.prefix, **env)
    return subprocess.run(
        ["bash", "scripts/quickstart.sh"], cwd=REPO, env=clean, capture_output=True, text=True, timeout=600
    )


def test_the_main_job_stores_a_playable_mp4_and_runs_again(tmp_path):
    outputs = []
    for _ in range(2):
        result = _quickstart(tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == ""  # Airflow's warnings and the task's output go to the run's log
        outputs.append(result.stdout)
    assert "Creating the Airflow metadata DB" in outputs[0]
    assert "Reusing the Airflow metadata DB" in outputs[1]
    videos = sorted((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 2
    for output in outputs:
        assert output.count("Video URL:") == output.count("Stored at:") == 1, output
        assert "warning" not in output.lower() and "paid" not in output, output
        stored = Path(output.split("Stored at:  ")[1].split(" (")[0])
        data = stored.read_bytes()
        assert data[4:8] == b"ftyp" and len(data) > 10_000
        assert "Timings:" in output and "run kling_quickstart" in output and "... waiting for the video" in output
        assert f"Airflow's own output: {tmp_path / 'last-run.log'}" in output
    assert "Video URL:" in (tmp_path / "last-run.log").read_text()  # the task's own print, kept in the log
    assert not list(tmp_path.rglob("*.part"))


def test_a_wrong_key_ends_in_one_paragraph_with_the_fix_and_submits_nothing(tmp_path, cometapi_sandbox):
    result = _quickstart(tmp_path, KLING_API_KEY="sk-wrong-key", KLING_BASE_URL=cometapi_sandbox.url)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert f"Using {cometapi_sandbox.url} with KLING_API_KEY (a local address)" in output and "paid" not in output
    [failure] = [line for line in output.splitlines() if line.startswith("quickstart failed:")]
    assert f"The Kling endpoint at {cometapi_sandbox.url} was not usable" in failure
    assert "Check KLING_API_KEY" in failure and "Nothing was submitted" in failure
    assert "Traceback" not in output and "sk-wrong-key" not in output
    assert len(output.splitlines()) < 8, output
    assert cometapi_sandbox.submissions == []
