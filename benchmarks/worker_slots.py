"""Worker slots: generations waited for in the triggerer (deferrable) versus in worker slots (blocking).

A real Airflow (API server, scheduler, DAG processor, triggerer; LocalExecutor with 2 slots) runs
the same DAG twice: G generations that each render for R seconds in the sandbox, first deferrable,
then blocking. The baseline is the blocking run, measured in the same run; the ideal is one render
time for the deferrable run and G/2 render times for the blocking one.

    bash scripts/bench.sh worker_slots [--generations 20] [--render-seconds 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the local Airflow the real-Airflow tests use

from airflow_services import AirflowServices  # noqa: E402
from sandbox_process import KEY  # noqa: E402

from airflow_provider_kling.sandbox import KlingSandbox  # noqa: E402

SLOTS = 2


def run_dag(airflow: AirflowServices, dag_id: str, generations: int) -> dict:
    """Trigger one DAG, sample task states until it ends; return its timings."""
    run_id = airflow.trigger_dag(dag_id)
    peak = {"running": 0, "deferred": 0}

    def finished() -> bool:
        states = list(airflow.task_states(dag_id, run_id).values())
        for state in peak:
            peak[state] = max(peak[state], states.count(state))
        return airflow.run_state(dag_id, run_id) in ("success", "failed")

    airflow.wait_for(f"{dag_id} to finish", finished, timeout=60 + generations * 120, interval=0.5)
    ((state, started, ended),) = airflow.query(
        "SELECT state, julianday(start_date), julianday(end_date) FROM dag_run WHERE dag_id = ? AND run_id = ?",
        dag_id,
        run_id,
    )
    # The trigger logs this line where it ends a task itself: no worker starts again for that task.
    logs = airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    ended_in_triggerer = sum(
        path.read_text(errors="replace").count("the Airflow task ends here") for path in logs.rglob("*.log*")
    )
    return {"state": state, "seconds": (ended - started) * 86400, **peak, "ended_in_triggerer": ended_in_triggerer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--render-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with KlingSandbox(api_key=KEY, render_seconds=args.render_seconds) as sandbox:
        connection = {"conn_type": "kling", "host": sandbox.url, "password": KEY}
        airflow = AirflowServices(
            HERE / "dags",
            env={
                "AIRFLOW_CONN_KLING_DEFAULT": json.dumps(connection),
                "KLING_BENCH_GENERATIONS": str(args.generations),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(args.generations),
                # Blocking, most tasks wait queued for a slot far longer than the default allows.
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "36000",
            },
            parallelism=SLOTS,
        )
        airflow.start()
        try:
            results = {}
            for mode in ("deferrable", "blocking"):
                started = time.monotonic()
                results[mode] = run_dag(airflow, f"kling_slots_{mode}", args.generations)
                print(f"  {mode}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        finally:
            airflow.stop()
        tasks = len(sandbox.tasks)
    render = args.render_seconds
    print(
        f"\n{args.generations} generations rendering {render:g} s each; LocalExecutor with {SLOTS} worker slots; "
        f"{tasks} tasks created in the sandbox"
    )
    print(
        f"{'mode':<11} {'state':<8} {'total s':>8} {'in renders':>10} {'peak running':>12} {'peak deferred':>13} "
        f"{'ended in triggerer':>18}"
    )
    for mode, result in results.items():
        print(
            f"{mode:<11} {result['state']:<8} {result['seconds']:>8.0f} {result['seconds'] / render:>10.1f} "
            f"{result['running']:>12} {result['deferred']:>13} {result['ended_in_triggerer']:>18}"
        )
    speedup = results["blocking"]["seconds"] / results["deferrable"]["seconds"]
    print(
        f"deferrable finishes {speedup:.1f}x sooner than blocking (ideal {args.generations / SLOTS:g}x: one render "
        f"time against {args.generations}/{SLOTS} of them)"
    )


if __name__ == "__main__":
    main()
