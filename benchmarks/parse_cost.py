"""DAG parse cost: what importing our operator, sensor and trigger adds to parsing a DAG file.

Two DAG files with the same shape, one using ``EmptyOperator`` (the baseline), one using
``KlingText2VideoOperator`` and ``KlingTaskSensor`` (whose deferral imports the trigger). Each is
parsed in a fresh process with Airflow's SDK already imported, as in the DAG processor, and the
time to execute the file is measured; the median over the runs is compared. The provider's modules
are compiled to bytecode first, as an installed wheel's are (pip and uv compile them): an editable
checkout under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile them again in every process.

    python benchmarks/parse_cost.py [--runs 21]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = """
import pendulum
from airflow.sdk import DAG
"""

BASELINE = (
    HEADER
    + """
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("parse_baseline", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
    EmptyOperator(task_id="generate") >> EmptyOperator(task_id="wait")
"""
)

KLING = (
    HEADER
    + """
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor
from airflow_provider_kling.triggers.kling import KlingTaskTrigger
with DAG("parse_kling", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
    KlingText2VideoOperator(task_id="generate", prompt="a cat", wait_for_completion=False) >> KlingTaskSensor(
        task_id="wait", kling_task_id="{{ ti.xcom_pull('generate')['task_id'] }}"
    )
"""
)

MEASURE = """
import runpy, sys, time
import airflow.sdk, pendulum
from airflow.sdk import DAG, BaseOperator, BaseSensorOperator
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print(time.perf_counter() - started)
"""


def parse_seconds(path: Path) -> float:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    import airflow_provider_kling

    compileall.compile_dir(Path(airflow_provider_kling.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as folder:
        files = {"EmptyOperator (baseline)": BASELINE, "Kling operator + sensor + trigger": KLING}
        paths = {}
        for name, text in files.items():
            paths[name] = Path(folder) / f"{len(paths)}.py"
            paths[name].write_text(text)
        times = {name: [] for name in paths}
        for _ in range(args.runs):
            for name, path in paths.items():  # interleaved, so drift hits both alike
                times[name].append(parse_seconds(path))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    # The fastest of the runs too: a machine busy with other work slows some runs, never speeds one up.
    fastest = {name: min(values) * 1000 for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:>34}: median {median:6.1f} ms, fastest {fastest[name]:6.1f} ms over {args.runs} fresh processes")
    (baseline, kling), (quickest_baseline, quickest_kling) = medians.values(), fastest.values()
    print(
        f"{'added by our imports':>34}: {kling - baseline:6.1f} ms ({kling / baseline:.2f}x the baseline); "
        f"fastest runs: {quickest_kling - quickest_baseline:.1f} ms"
    )


if __name__ == "__main__":
    main()
