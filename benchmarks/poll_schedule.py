"""Polls per generation, and how late a wait learns that its render ended, for each poll schedule.

Generations are submitted one after another at random times, as a busy DAG's are, to the sandbox in
its own process; each render lasts a time drawn uniformly from ``--render-range`` (60-300 s). Each is
waited for by a ``KlingTaskTrigger`` in one event loop, as in a triggerer. Time is scaled by
``--scale`` (0.02: a 10 s poll interval takes 0.2 s) and reported unscaled. For each schedule:

- polls per generation (the sandbox's GET count for its task, the last one included);
- the delay between "Kling says succeed" (the task's ``updated_at``) and "Airflow knows" (the event
  reaches the loop): mean, p95 and max.

Schedules, each in a fresh process (nothing learnt before): fixed polls every interval, the first after
one interval (the baseline); our jittered polls with no kind of render (a wait on a task submitted
earlier, or a sensor's); our jittered polls that learn the shortest render of their kind and skip the
polls before it (an operator's wait on the task it submitted). Ratios are against the fixed schedule.

    bash scripts/bench.sh poll_schedule [--n 400] [--scale 0.02] [--poll-interval 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request

from sandbox_process import KEY, main_or_worker, percentile, start_sandbox

SCHEDULES = {
    "fixed": "fixed, every interval",
    "jittered": "jittered (no kind)",
    "learned": "jittered, learns its kind",
}


def worker(schedule: str, count: int, url: str, poll_interval: float, arrivals: float, seed: int) -> dict:
    """Submit ``count`` generations at random times over ``arrivals`` seconds, wait for each; return the figures."""
    import asyncio
    import random
    import time

    os.environ["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps(
        {"conn_type": "kling", "host": url, "password": KEY, "extra": {"requests_per_second": 10_000}}
    )
    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.triggers import kling as trigger_module
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

    trigger_module.poll_jitter.seed(seed)
    if schedule == "fixed":
        trigger_module.poll_delay = lambda interval, *, first: interval
    kind = "bench text2video" if schedule == "learned" else None
    hook = KlingHook()
    draws = random.Random(seed)
    starts = sorted(arrivals * draws.random() for _ in range(count))
    delays: dict[str, float] = {}

    async def generate(start: float, began: float) -> None:
        await asyncio.sleep(max(0.0, began + start - time.perf_counter()))
        task = await asyncio.to_thread(hook.create_text2video, "a poll schedule")
        trigger = KlingTaskTrigger(
            task["task_id"], deadline=time.time() + 3600, poll_interval=poll_interval, render_kind=kind
        )
        async for event in trigger.run():
            known = time.time()
            ended = event.payload["task"]
            delays[ended["task_id"]] = known - ended["updated_at"] / 1000
            break

    async def run_all() -> None:
        began = time.perf_counter()
        await asyncio.gather(*(generate(start, began) for start in starts))

    asyncio.run(run_all())
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as answer:
        polls = json.load(answer)["requests"].get("GET", 0) - 1  # less this stats call
    return {"schedule": schedule, "generations": len(delays), "polls": polls, "delays": list(delays.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="generations per schedule")
    parser.add_argument("--scale", type=float, default=0.02, help="seconds of this run per second reported")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds between polls (unscaled)")
    parser.add_argument("--render-range", type=float, nargs=2, default=[60.0, 300.0], help="render seconds, low high")
    parser.add_argument("--arrivals", type=float, default=1200.0, help="seconds the submissions spread over")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    low, high = args.render_range
    scaled = [str(args.scale * value) for value in (low, high - low)]
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "0"}
    rows = []
    try:
        for schedule in SCHEDULES:
            # A sandbox per schedule, with the same seed: every schedule waits on the same render times.
            sandbox, url = start_sandbox("--render-seconds", scaled[0], "--render-spread", scaled[1], "--seed", "1")
            try:
                options = [args.n, url, args.scale * args.poll_interval, args.scale * args.arrivals, args.seed]
                command = [sys.executable, __file__, "--worker", schedule, json.dumps(options)]
                worker_run = subprocess.run(command, capture_output=True, text=True, env=env)
                if worker_run.returncode:
                    sys.exit(f"{SCHEDULES[schedule]} failed:\n{worker_run.stderr[-3000:]}")
                rows.append(json.loads(worker_run.stdout.strip().splitlines()[-1]))
            finally:
                sandbox.terminate()
                sandbox.wait(timeout=10)
            print(f"  ran {SCHEDULES[schedule]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    low, high = args.render_range
    print(
        f"\n{args.n} generations submitted over {args.arrivals:g} s, renders {low:g}-{high:g} s (uniform), poll "
        f"interval {args.poll_interval:g} s; time scaled by {args.scale:g}, reported unscaled."
    )
    print(f"{'schedule':<27} {'done':>5} {'polls/gen':>9} {'delay mean/p95/max s':>21} {'polls vs fixed':>14}")
    fixed = next(row for row in rows if row["schedule"] == "fixed")
    fixed_per = fixed["polls"] / fixed["generations"]
    for row in rows:
        per = row["polls"] / row["generations"]
        delays = [delay / args.scale for delay in row["delays"]]
        delay = f"{statistics.mean(delays):.1f}/{percentile(delays, 0.95):.1f}/{max(delays):.1f}"
        print(
            f"{SCHEDULES[row['schedule']]:<27} {row['generations']:>5} {per:>9.2f} {delay:>21} "
            f"{fixed_per / per:>13.2f}x"
        )


if __name__ == "__main__":
    main_or_worker(main, worker)
