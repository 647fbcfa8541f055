"""Smoke runs of the benchmarks at small sizes, so that they keep working. No figure is checked here:
the benchmarks print figures for people to read (benchmarks/README.md), they are not timed tests."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


def run_benchmark(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_trigger_scale_runs_every_trigger_to_its_end():
    sizes = ("--n", "20", "--poll-interval", "0.5", "--latency", "0.02")
    output = run_benchmark("trigger_scale.py", *sizes, "--kinds", "kling", "fresh_client")
    for label in ("KlingTaskTrigger (shared pool)", "fresh client per poll"):
        assert re.search(rf"^\s+20\s+{re.escape(label)}\s+20\s", output, re.MULTILINE), output
    assert "CPU per poll" in output


def test_download_and_parse_cost_run():
    assert "speed vs curl" in run_benchmark("download.py", "--sizes-mb", "1", "2")
    assert "added by our imports" in run_benchmark("parse_cost.py", "--runs", "1")


def test_trigger_scale_runs_a_herd_on_a_rate_limited_key_against_its_baselines():
    sizes = ("--n", "20", "--poll-interval", "0.5", "--latency", "0.02")
    limits = ("--herd", "--rate-limit", "50", "--requests-per-second", "40")
    kinds = ("kling", "kling_in_step", "kling_no_budget", "sleeper")
    output = run_benchmark("trigger_scale.py", *sizes, *limits, "--kinds", *kinds)
    for label in (
        "KlingTaskTrigger (shared pool)",
        "KlingTaskTrigger, no jitter/bound",
        "KlingTaskTrigger, no budget/pause",
        "no polls: sleeps to the end",
    ):
        assert re.search(rf"^\s+20\s+{re.escape(label)}\s+20\s", output, re.MULTILINE), output
    assert "longest stall" in output


def test_poll_schedule_compares_each_schedule_with_fixed_polls():
    output = run_benchmark("poll_schedule.py", "--n", "20", "--scale", "0.005", "--arrivals", "200")
    for label in ("fixed, every interval", "jittered (no kind)", "jittered, learns its kind"):
        assert re.search(
            rf"^{re.escape(label)}\s+20\s+[0-9.]+\s+[0-9.]+/[0-9.]+/[0-9.]+\s+[0-9.]+x$", output, re.MULTILINE
        ), output
