"""The Kling sandbox in its own process, so that a benchmark measures none of its work with ours."""

from __future__ import annotations

import subprocess
import sys

KEY = "benchmark-key"


def start_sandbox(*options: str) -> tuple[subprocess.Popen, str]:
    """Start ``kling-sandbox`` on a free loopback port with these options; return it and its URL once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_kling.sandbox", "--port", "0", "--api-key", KEY, *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    listening = process.stdout.readline()  # "Kling sandbox listening on <url> (key: ...)"
    return process, listening.split(" on ", 1)[1].split()[0]
