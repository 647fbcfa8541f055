"""The README's main-job command, run as a new user would: twice, the second time reusing the set-up; then with a
wrong key."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from conftest import REPO
from support.airflow_services import free_port


def _clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "KLING_"))}
    return {**clean, "KLING_DEMO_DIR": str(tmp_path), "KLING_VENV": sys.prefix, **env}


def _quickstart(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "scripts/quickstart.sh"],
        cwd=REPO,
        env=_clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=600,
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
        assert "(served by the local sandbox while this script ran)" in output
        assert "warning" not in output.lower() and "paid" not in output, output
        stored = Path(output.split("Stored at:  ")[1].split(" (")[0])
        data = stored.read_bytes()
        assert data[4:8] == b"ftyp" and len(data) > 10_000
        assert "Timings:" in output and "run kling_quickstart" in output and "... waiting for the video" in output
        assert f"Airflow's own output: {tmp_path / 'last-run.log'}" in output
    # The run's record: the task's own print, and its log (what it sent, when it ended, the units charged).
    log = (tmp_path / "last-run.log").read_text()
    assert "Video URL:" in log and "Submitting a Kling text2video task" in log and "units charged" in log
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


def test_a_host_that_does_not_answer_is_named_as_the_fix_not_the_key(tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = _quickstart(tmp_path, KLING_API_KEY="sk-some-key", KLING_BASE_URL=nowhere)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    [failure] = [line for line in output.splitlines() if line.startswith("quickstart failed:")]
    assert f"The Kling endpoint at {nowhere} was not usable: The service could not be reached" in failure
    assert "Check KLING_BASE_URL (https://api.cometapi.com unless set). Nothing was submitted." in failure
    assert "KLING_API_KEY" not in failure and "Traceback" not in output and "sk-some-key" not in output


def test_a_malformed_key_is_named_as_the_fix_not_the_host(tmp_path, cometapi_sandbox):
    result = _quickstart(tmp_path, KLING_API_KEY="sk-pasted with a space", KLING_BASE_URL=cometapi_sandbox.url)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    [failure] = [line for line in output.splitlines() if line.startswith("quickstart failed:")]
    assert "Check KLING_API_KEY (the connection's password here: your CometAPI key, sk-...). Nothing" in failure
    assert "KLING_BASE_URL" not in failure and "Traceback" not in output and "pasted" not in output
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize("without", ["scheme", "host"])
def test_a_base_url_without_its_scheme_or_host_is_refused_before_anything_is_sent(tmp_path, cometapi_sandbox, without):
    base_url = cometapi_sandbox.url.removeprefix("http://") if without == "scheme" else "http://"
    result = _quickstart(tmp_path, KLING_API_KEY="sk-some-key", KLING_BASE_URL=base_url)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert f"quickstart failed: KLING_BASE_URL is '{base_url}': give its host with http:// or https://" in output
    assert "paid" not in output and "Traceback" not in output
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (["--verbos"], "unrecognized arguments: --verbos"),
        (["--port", "8081"], "--port is the UI's port"),
        (["--ui", "--port", "0"], "'0' is not a port: give a number from 1 to 65535"),
    ],
)
def test_an_unknown_or_misplaced_option_is_refused_with_the_usage_and_runs_nothing(tmp_path, arguments, refusal):
    result = subprocess.run(
        ["bash", "scripts/quickstart.sh", *arguments],
        cwd=REPO,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: bash scripts/quickstart.sh [-h] [--verbose] [--ui] [--port PORT]")
    assert refusal in result.stderr and "sandbox" not in result.stdout
    assert not (tmp_path / "airflow").exists()


def test_help_is_shown_before_any_install(tmp_path):
    env = {**_clean_env(tmp_path), "KLING_VENV": str(tmp_path / "no-venv")}
    result = subprocess.run(
        ["bash", "scripts/quickstart.sh", "--help"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: bash scripts/quickstart.sh") and "KLING_BASE_URL" in result.stdout
    assert not (tmp_path / "no-venv").exists()


def _api(ui: str, path: str) -> dict:
    with urlopen(f"{ui}/auth/token", timeout=10) as answer:  # every user is an admin in the --ui Airflow
        token = json.load(answer)["access_token"]
    with urlopen(Request(f"{ui}{path}", headers={"Authorization": f"Bearer {token}"}), timeout=10) as answer:
        return json.load(answer)


def _succeeded_run(ui: str) -> str | None:
    try:
        runs = _api(ui, "/api/v2/dags/kling_quickstart/dagRuns")["dag_runs"]
    except OSError:
        return None
    return next((run["dag_run_id"] for run in runs if run["state"] == "success"), None)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_the_ui_mode_shows_the_run_and_its_kling_video_link_in_a_browser(tmp_path):
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    quickstart = subprocess.Popen(
        ["bash", "scripts/quickstart.sh", "--ui", "--port", str(port)],
        cwd=REPO,
        env=_clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in quickstart.stdout], daemon=True).start()
    output = ""
    try:
        while "Press Ctrl+C" not in output:
            output += lines.get(timeout=300)
        assert f"Watch it in the Airflow UI: {ui}/dags/kling_quickstart" in output and "no login" in output
        deadline = time.monotonic() + 300
        while (run_id := _succeeded_run(ui)) is None:
            assert time.monotonic() < deadline, (tmp_path / "ui-airflow.log").read_text()[-3000:]
            time.sleep(2)
        page = f"{ui}/dags/kling_quickstart/runs/{run_id}/tasks/generate/details"
        browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'browser'}"]
        dom = subprocess.run(
            [*browser, "--virtual-time-budget=20000", "--dump-dom", page], capture_output=True, text=True, timeout=180
        ).stdout
        assert "<title>generate - Airflow" in dom and run_id in dom
        assert re.search(r'<a [^>]*href="http://127\.0\.0\.1:\d+/sandbox/videos/\d+\.mp4"[^>]*>Kling video</a>', dom)
        paused = {dag["dag_id"] for dag in _api(ui, "/api/v2/dags?paused=true")["dags"]}
        assert "kling_content_calendar" in paused and "kling_quickstart" not in paused  # nothing else spends
        # The pool the content-calendar example runs in, as the docs recommend: of the account's size, deferred
        # tasks counted.
        pool = _api(ui, "/api/v2/pools/kling")
        assert (pool["slots"], pool["include_deferred"]) == (5, True)
    finally:
        os.killpg(quickstart.pid, signal.SIGTERM)
        quickstart.wait(timeout=90)
    assert quickstart.returncode == 0
    with pytest.raises(OSError):  # Airflow stopped with the script
        urlopen(f"{ui}/api/v2/monitor/health", timeout=5)
