"""A real, local Airflow for tests and benchmarks: API server, scheduler, DAG processor and triggerer.

Each component runs as its own ``airflow`` process against a private AIRFLOW_HOME, bound to loopback,
logging to files under that home. By default the metadata DB is SQLite and the executor the
LocalExecutor; :class:`ProductionShape` is what our users run instead: PostgreSQL, the
CeleryExecutor with Redis as its broker, two Celery workers and two triggerers, each server started
here from Debian's packages. On Airflow 2 the deployment is a scheduler (which parses the DAGs) and a
triggerer, on PostgreSQL (its LocalExecutor refuses SQLite). Everything started is stopped by
:meth:`AirflowServices.stop`.
"""

from __future__ import annotations

import importlib.util
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
from typing import ClassVar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, what: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until something accepts connections on ``port``; fail if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} ended with {process.returncode} before it listened on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:g} s")


def stop_process(process: subprocess.Popen, stop_signal: int = signal.SIGTERM) -> None:
    """Signal a process's whole session, then SIGKILL it if it has not ended within 20 s."""
    try:
        os.killpg(process.pid, stop_signal)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass


def postgres_bin() -> Path | None:
    """The folder of Debian's newest PostgreSQL server programs, if the package is installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


class ProductionShape:
    """
    PostgreSQL for the metadata DB and Redis as the Celery broker, each a private server on a free loopback port
    with its data under a temporary folder. As root (CI), PostgreSQL runs as Debian's ``postgres`` user, since it
    refuses to run as root.
    """

    #: The components of the deployment: two triggerers and two Celery workers of 2 slots, named for their logs.
    COMPONENTS: ClassVar[dict[str, list[str]]] = {
        "api-server": ["api-server"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        # Two of each on one machine: each skips the log server that would take the same port.
        "triggerer-1": ["triggerer", "--skip-serve-logs"],
        "triggerer-2": ["triggerer", "--skip-serve-logs"],
        "celery-worker-1": ["celery", "worker", "-c", "2", "-H", "kling-1@%h", "--skip-serve-logs"],
        "celery-worker-2": ["celery", "worker", "-c", "2", "-H", "kling-2@%h", "--skip-serve-logs"],
    }

    @staticmethod
    def missing(*, celery: bool = True) -> str | None:
        """Why the production shape (or, without ``celery``, its PostgreSQL) cannot run here, or None if it can."""
        if postgres_bin() is None:
            return "PostgreSQL's server is not installed (Debian: apt-get install postgresql)"
        if celery and shutil.which("redis-server") is None:
            return "Redis is not installed (Debian: apt-get install redis-server)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "runuser is missing: PostgreSQL will not run as root"
        for module in ("psycopg2", "airflow.providers.celery")[: 2 if celery else 1]:
            if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
                return f"{module} is not installed (the project's 'production' extra)"
        return None

    def __init__(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="kling-airflow-servers-"))
        self.processes: list[subprocess.Popen] = []
        try:
            self._start_postgres()
            self._start_redis()
        except BaseException:
            self.stop()
            raise

    def _start_postgres(self) -> None:
        programs = postgres_bin()
        assert programs is not None, self.missing()
        cluster = self.data / "postgres"
        cluster.mkdir(mode=0o700)
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            self.data.chmod(0o711)  # the postgres user passes through to its own folder
            shutil.chown(cluster, "postgres", "postgres")
            as_postgres = ["runuser", "-u", "postgres", "--"]
        initdb = subprocess.run(
            [*as_postgres, programs / "initdb", "-D", cluster, "-U", "airflow", "--auth=trust", "-E", "UTF8"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if initdb.returncode:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        self.postgres_port = free_port()
        # A throwaway cluster: durability is not under test, so nothing waits for the disk.
        settings = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300")
        process = self._spawn(
            "postgres",
            [*as_postgres, programs / "postgres", "-D", cluster, "-h", "127.0.0.1", "-p", str(self.postgres_port)]
            + ["-k", str(cluster)]
            + [argument for setting in settings for argument in ("-c", setting)],
        )
        wait_for_port(self.postgres_port, "PostgreSQL", process)
        self.sql_alchemy_conn = f"postgresql+psycopg2://airflow@127.0.0.1:{self.postgres_port}/postgres"

    def _start_redis(self) -> None:
        port = free_port()
        process = self._spawn(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        )
        wait_for_port(port, "Redis", process)
        self.broker_url = f"redis://127.0.0.1:{port}/0"

    def _spawn(self, name: str, argv: list) -> subprocess.Popen:
        with open(self.data / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.data, start_new_session=True
            )
        self.processes.append(process)
        return process

    def airflow_env(self) -> dict[str, str]:
        """The configuration that points Airflow at these servers."""
        return {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.sql_alchemy_conn.replace('+psycopg2', '')}",
        }

    def query(self, sql: str, params: tuple) -> list[tuple]:
        import psycopg2

        db = psycopg2.connect(host="127.0.0.1", port=self.postgres_port, user="airflow", dbname="postgres")
        try:
            with db.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall()
        finally:
            db.close()

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process, signal.SIGINT)  # PostgreSQL's fast shutdown; Redis ends on it too
        shutil.rmtree(self.data, ignore_errors=True)


class AirflowServices:
    """
    One local Airflow deployment.

    :param dags_folder: the folder of DAG files to serve.
    :param env: extra environment (connections, config) for every component.
    :param parallelism: worker slots of the LocalExecutor.
    :param production: PostgreSQL, Celery and two triggerers (:class:`ProductionShape`) instead of SQLite and the
        LocalExecutor.
    :param postgres: PostgreSQL with the LocalExecutor (always so on Airflow 2, whose LocalExecutor refuses SQLite;
        Airflow 3.0's API server loses tasks' reports on a busy SQLite).
    """

    COMPONENTS: ClassVar[dict[str, list[str]]] = {
        name: [name] for name in ("api-server", "scheduler", "dag-processor", "triggerer")
    }
    #: Airflow 2's: its scheduler parses the DAGs, and nothing here needs its webserver.
    AIRFLOW_2_COMPONENTS: ClassVar[dict[str, list[str]]] = {name: [name] for name in ("scheduler", "triggerer")}

    def __init__(
        self,
        dags_folder: Path,
        env: dict[str, str],
        parallelism: int = 4,
        *,
        production: bool = False,
        postgres: bool = False,
    ) -> None:
        from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

        self.servers = ProductionShape() if production or postgres or not AIRFLOW_V_3_0_PLUS else None
        self.home = Path(tempfile.mkdtemp(prefix="kling-airflow-services-"))
        self.components = (
            ProductionShape.COMPONENTS
            if production
            else self.COMPONENTS
            if AIRFLOW_V_3_0_PLUS
            else self.AIRFLOW_2_COMPONENTS
        )
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
            **(self.servers.airflow_env() if self.servers else {}),
            **({} if production else {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}),
            **env,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self._starts = 0
        try:
            self.airflow("db", "migrate")
        except BaseException:
            self.stop(remove_home=True)
            raise

    def airflow(self, *args: str) -> str:
        """Run one ``airflow`` CLI command to completion and return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, *components: str) -> None:
        """
        Start components (default: all) as background processes logging under AIRFLOW_HOME; return once the API
        server, if started, listens (a task that starts before it fails: Airflow 3's tasks report to it).
        """
        started = components or tuple(self.components)
        for component in started:
            self._starts += 1
            with open(self.home / f"{component}-{self._starts}.log", "wb") as log:
                self.processes[component] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *self.components[component]],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        if "api-server" in started:
            wait_for_port(int(self.env["AIRFLOW__API__PORT"]), "the API server", self.processes["api-server"], 180)

    def kill(self, component: str) -> None:
        """SIGKILL a component and all its children, as a crash would."""
        process = self.processes.pop(component)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, *, remove_home: bool = False) -> None:
        """Stop every component that is still running; with ``remove_home``, delete the home and its logs too."""
        for component in list(self.processes):
            stop_process(self.processes.pop(component))
        if self.servers:
            self.servers.stop()
        if remove_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the metadata DB (``?`` marks a parameter)."""
        if self.servers:
            return self.servers.query(sql, params)
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
