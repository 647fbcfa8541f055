"""A real, local Airflow for tests and benchmarks: API server, scheduler, DAG processor and triggerer.

Each component runs as its own ``airflow`` process against a private AIRFLOW_HOME with a SQLite
metadata DB and the LocalExecutor, bound to loopback, logging to files under that home. Everything
started is stopped by :meth:`AirflowServices.stop`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowServices:
    """
    One local Airflow deployment.

    :param dags_folder: the folder of DAG files to serve.
    :param env: extra environment (connections, config) for every component.
    :param parallelism: worker slots of the LocalExecutor.
    """

    COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

    def __init__(self, dags_folder: Path, env: dict[str, str], parallelism: int = 4) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="kling-airflow-services-"))
        port = free_port()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {
                        "name": "dags-folder",
                        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {"path": str(dags_folder)},
                    }
                ]
            ),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API_AUTH__JWT_SECRET": "kling-tests-jwt-secret-0123456789abcdef",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "8",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # Not the default log-server ports: another Airflow may be up beside this one (tests run side by side).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **env,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self._starts = 0
        self.airflow("db", "migrate")

    def airflow(self, *args: str) -> str:
        """Run one ``airflow`` CLI command to completion and return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, *components: str) -> None:
        """Start components (default: all) as background processes logging under AIRFLOW_HOME."""
        for component in components or self.COMPONENTS:
            self._starts += 1
            log = open(self.home / f"{component}-{self._starts}.log", "wb")  # noqa: SIM115 - closed on stop
            self.processes[component] = subprocess.Popen(
                [sys.executable, "-m", "airflow", component],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, component: str) -> None:
        """SIGKILL a component and all its children, as a crash would."""
        process = self.processes.pop(component)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, *, remove_home: bool = False) -> None:
        """Stop every component that is still running; with ``remove_home``, delete the home and its logs too."""
        for component in list(self.processes):
            process = self.processes.pop(component)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
            except ProcessLookupError:
                pass
        if remove_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the metadata DB."""
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def wait_for(self, what: str, check, timeout: float = 180, interval: float = 0.2):
        """Poll ``check()`` until it returns something truthy; fail with the component logs after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"Timed out waiting for {what}\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        tails = []
        for path in sorted(self.home.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(tails)

    def all_logs(self) -> str:
        """Every log file Airflow wrote: component output, task logs and trigger logs."""
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.home.rglob("*"))
            if path.is_file() and ".log" in path.name
        )

    def trigger_dag(self, dag_id: str) -> str:
        """Wait until the DAG is parsed, trigger it, and return the run id."""
        self.wait_for(f"DAG {dag_id} to be parsed", lambda: self.query("SELECT 1 FROM dag WHERE dag_id = ?", dag_id))
        run_id = f"manual__kling_{time.time_ns()}"
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id)
        return run_id

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str | None]:
        rows = self.query(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        )
        return {(task_id, map_index): state for task_id, map_index, state in rows}

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return rows[0][0] if rows else None
