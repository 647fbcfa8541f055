"""Download benchmark: peak memory of KlingHook.download_video against the video's size, and its speed.

Starts the Kling sandbox in its own process (``--video-bytes`` per size), makes one task, then for
each size runs a fresh Python process that downloads the video once and reports its peak RSS growth
(``ru_maxrss`` after minus before the download) and the wall time. The baseline, measured in the
same run, is ``curl`` fetching the same URL to a file in the same folder.

    python benchmarks/download.py [--sizes-mb 10 50 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox_process import KEY, start_sandbox

CHILD = r"""
import json, os, resource, sys, time
connection = {"conn_type": "kling", "host": sys.argv[1], "password": sys.argv[4]}
os.environ["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps(connection)
from airflow_provider_kling.hooks.kling import KlingHook
hook = KlingHook()
hook.settings, hook._download_session  # connection and session set up before measuring
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
size = hook.download_video(sys.argv[2], "file://" + sys.argv[3])
seconds = time.perf_counter() - started
growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"bytes": size, "seconds": seconds, "rss_growth_mb": growth_kb / 1024}))
"""


def sandbox_video(size: int) -> tuple[subprocess.Popen, str, str]:
    """Start a sandbox serving videos of ``size`` bytes; return it, its URL and one video URL."""
    import requests

    process, url = start_sandbox("--render-seconds", "0.1", "--video-bytes", str(size))
    headers = {"Authorization": f"Bearer {KEY}"}
    task = requests.post(f"{url}/kling/v1/videos/text2video", json={"prompt": "benchmark"}, headers=headers)
    time.sleep(0.3)
    task_id = task.json()["data"]["task_id"]
    video = requests.get(f"{url}/kling/v1/videos/text2video/{task_id}", headers=headers).json()
    return process, url, video["data"]["task_result"]["videos"][0]["url"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[10, 50, 200])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size_mb in args.sizes_mb:
            process, url, video_url = sandbox_video(size_mb * 1024 * 1024)
            try:
                by_curl = Path(folder) / f"{size_mb}-curl.mp4"
                started = time.perf_counter()
                subprocess.run(["curl", "-sS", "-o", str(by_curl), video_url], check=True)
                curl_seconds = time.perf_counter() - started
                by_curl.unlink()
                target = Path(folder) / f"{size_mb}.mp4"
                result = json.loads(
                    subprocess.run(
                        [sys.executable, "-c", CHILD, url, video_url, str(target), KEY],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout.splitlines()[-1]
                )
                target.unlink()
            finally:
                process.terminate()
                process.wait()
            rows.append((size_mb, result["rss_growth_mb"], curl_seconds, result["seconds"]))
    print(
        f"{'video MB':>9} {'peak RSS growth MB':>19} {'growth / video size':>20} {'curl s':>7} {'ours s':>7} "
        f"{'speed vs curl':>14}"
    )
    for size_mb, growth, curl_seconds, seconds in rows:
        print(
            f"{size_mb:>9} {growth:>19.1f} {growth / size_mb:>20.3f} {curl_seconds:>7.2f} {seconds:>7.2f} "
            f"{curl_seconds / seconds:>13.2f}x"
        )
    smallest, largest = rows[0], rows[-1]
    print(
        f"RSS growth at {largest[0]} MB is {largest[1] / max(smallest[1], 0.1):.2f}x the growth at {smallest[0]} MB "
        f"for a {largest[0] / smallest[0]:.0f}x larger video"
    )


if __name__ == "__main__":
    main()
