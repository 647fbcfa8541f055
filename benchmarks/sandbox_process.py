"""What the benchmarks share: the Kling sandbox in its own process (a benchmark measures none of its work with ours),
a worker process per measured kind, percentiles."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

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


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (0 for none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main_or_worker(main: Callable[[], None], worker: Callable[..., dict[str, Any]]) -> None:
    """Run ``main``; or, as ``--worker KIND OPTIONS`` (JSON), print ``worker(KIND, *OPTIONS)`` as JSON."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], *json.loads(sys.argv[3]))))
    else:
        main()
