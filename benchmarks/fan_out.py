"""Fan-out wider than the account: G generations on an account that renders L at once, in the production shape.

A real Airflow as our users run it (PostgreSQL, the CeleryExecutor with Redis and two workers of 2 slots, two
triggerers) runs a mapped fan-out of deferrable generations against the sandbox playing an account of concurrency
L, whose renders are drawn from a range (the same draws, in submission order, for every run): first without a
pool (each submission beyond the account waits for a free slot in a triggerer), then in a pool of L slots that
counts deferred tasks (the recipe: nothing is refused). The ideal is the same renders run back to back on L
slots with no overhead at all (waves of the limit); each run's wall time is reported against it and against the
pooled run.

    bash scripts/bench.sh fan_out [--generations 30] [--concurrency 5] [--render-seconds 60 300] [--poll-interval 10]
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the local Airflow the real-Airflow tests use

from airflow_services import AirflowServices, ProductionShape  # noqa: E402
from sandbox_process import KEY  # noqa: E402

from airflow_provider_kling.sandbox import KlingSandbox  # noqa: E402

WORKERS = ("celery-worker-1", "celery-worker-2")


def ideal_seconds(renders: list[float], slots: int) -> float:
    """How long the renders take back to back on ``slots`` slots, each started the moment one is free."""
    free = [0.0] * slots
    for render in renders:
        heapq.heappush(free, heapq.heappop(free) + render)
    return max(free)


def celery_starts(airflow: AirflowServices, dag_id: str) -> int:
    """How many times the Celery workers started a task instance of ``dag_id``, read from their logs."""
    starts = 0
    for worker in WORKERS:
        for log in airflow.home.glob(f"{worker}-*.log"):
            starts += sum(
                "Executing workload in Celery" in line and f"dag_id={dag_id}/run_id=" in line
                for line in log.read_text(errors="replace").splitlines()
            )
    return starts


def run(airflow: AirflowServices, sandbox: KlingSandbox, dag_id: str) -> dict:
    """Trigger one fan-out and wait for it; return its figures."""
    run_id = airflow.trigger_dag(dag_id)
    airflow.wait_for(
        f"{dag_id} to end",
        lambda: airflow.run_state(dag_id, run_id) in ("success", "failed"),
        timeout=14400,
        interval=2,
    )
    ((state, started, ended),) = airflow.query(
        "SELECT state, EXTRACT(EPOCH FROM start_date), EXTRACT(EPOCH FROM end_date) FROM dag_run"
        " WHERE dag_id = ? AND run_id = ?",
        dag_id,
        run_id,
    )
    states = Counter(airflow.task_states(dag_id, run_id).values())
    renders = [task.render_seconds for task in sorted(sandbox.tasks.values(), key=lambda task: task.started)]
    stats = sandbox.stats()
    return {
        "state": state,
        "succeeded": states["success"],
        "seconds": float(ended) - float(started),
        "renders": renders,
        "created": len(sandbox.tasks),
        "refused": stats["refused_for_concurrency"],
        "most_rendering": stats["most_rendering"],
        "starts": celery_starts(airflow, dag_id),
        "polls": stats["requests"].get("GET", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--render-seconds", type=float, nargs=2, default=(60.0, 300.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    missing = ProductionShape.missing()
    if missing:
        sys.exit(f"The fan-out benchmark runs in the production shape: {missing}")
    low, high = args.render_seconds
    sandboxes = [
        KlingSandbox(
            api_key=KEY, render_seconds=low, render_spread=high - low, seed=args.seed, concurrency=args.concurrency
        )
        for _ in range(2)
    ]
    results = {}
    for sandbox, dag_id in zip(sandboxes, ("kling_fan_out", "kling_fan_out_pooled"), strict=True):
        with sandbox:
            connection = {"conn_type": "kling", "host": sandbox.url, "password": KEY}
            airflow = AirflowServices(
                HERE / "dags",
                env={
                    "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(connection),
                    "KLING_BENCH_GENERATIONS": str(args.generations),
                    "KLING_BENCH_POLL_INTERVAL": str(args.poll_interval),
                    "KLING_BENCH_POOL": "kling",
                    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(args.generations),
                    "AIRFLOW__CORE__PARALLELISM": str(args.generations),
                    "C_FORCE_ROOT": "true",
                },
                production=True,
            )
            try:
                airflow.airflow("pools", "set", "kling", str(args.concurrency), "Kling account", "--include-deferred")
                airflow.start()
                began = time.monotonic()
                results[dag_id] = run(airflow, sandbox, dag_id)
                print(f"  {dag_id}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
            finally:
                airflow.stop(remove_home=True)
    print(
        f"\n{args.generations} deferrable generations on an account of concurrency {args.concurrency}, renders drawn "
        f"from {low:g}-{high:g} s (seed {args.seed}), polls every {args.poll_interval:g} s; PostgreSQL, Celery "
        "(2 workers of 2 slots), 2 triggerers"
    )
    print(
        f"{'run':<22} {'state':<8} {'ok':>4} {'created':>7} {'1303s':>6} {'most rendering':>14} {'worker starts':>13} "
        f"{'polls':>6} {'wall s':>7} {'ideal s':>7} {'wall/ideal':>10}"
    )
    for dag_id, result in results.items():
        ideal = ideal_seconds(result["renders"], args.concurrency)
        result["ideal"] = ideal
        print(
            f"{dag_id:<22} {result['state']:<8} {result['succeeded']:>4} {result['created']:>7} {result['refused']:>6} "
            f"{result['most_rendering']:>14} {result['starts']:>13} {result['polls']:>6} {result['seconds']:>7.0f} "
            f"{ideal:>7.0f} {result['seconds'] / ideal:>10.2f}"
        )
    unpooled, pooled = results["kling_fan_out"], results["kling_fan_out_pooled"]
    print(
        f"without a pool: wall {unpooled['seconds'] / unpooled['ideal']:.2f}x the ideal, "
        f"{unpooled['seconds'] / pooled['seconds']:.2f}x the pooled run; "
        f"{unpooled['starts'] / args.generations:.2f} worker starts per generation "
        f"({pooled['starts'] / args.generations:.2f} pooled)"
    )


if __name__ == "__main__":
    main()
