"""The README's main-job command, run as a new user would: twice, the second time reusing the set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_the_main_job_stores_a_playable_mp4_and_runs_again(tmp_path):
    env = {**os.environ, "KLING_DEMO_DIR": str(tmp_path), "KLING_VENV": sys.prefix}
    env.pop("KLING_API_KEY", None)
    for key in [key for key in env if key.startswith(("AIRFLOW", "KLING_OUTPUT", "KLING_POLL"))]:
        env.pop(key)
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            ["bash", "scripts/quickstart.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout)
    assert "Creating the Airflow metadata DB" in outputs[0]
    assert "Reusing the Airflow metadata DB" in outputs[1]
    videos = sorted((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 2
    for output in outputs:
        stored = Path(output.split("Stored at:  ")[1].split(" (")[0])
        data = stored.read_bytes()
        assert data[4:8] == b"ftyp" and len(data) > 10_000
        assert "Timings:" in output and "run kling_quickstart" in output
    assert not list(tmp_path.rglob("*.part"))
