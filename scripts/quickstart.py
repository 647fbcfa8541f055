"""Run the ``kling_quickstart`` example DAG end to end with a local Airflow and store the video.

Without ``KLING_API_KEY`` a local Kling sandbox stands in for CometAPI (nothing is spent); with it,
the real service is used (``KLING_BASE_URL`` overrides its address). Airflow's home, its SQLite DB
and the videos live under ``KLING_DEMO_DIR`` (default ``.kling-demo/``), so a second run reuses
the set-up. The key is checked first (a free request), so a wrong key or host spends nothing. Prints
progress, then where the video is and how long each step took; Airflow's own output goes to
``last-run.log`` in that folder (``--verbose`` shows it, and any traceback). Exits non-zero on failure.

With ``--ui``, the same example runs in a whole local Airflow instead (``airflow standalone``: API server
and UI, scheduler, DAG processor, triggerer), where it can be watched: the script triggers one run, prints
the UI's address (every user is an admin there: no login) and keeps Airflow up until Ctrl+C. ``--port``
picks the UI's port (default 8080).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

REPO = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("KLING_DEMO_DIR", REPO / ".kling-demo")).resolve()
DAG_ID = "kling_quickstart"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_BASE_URL = "https://api.cometapi.com"
steps: list[tuple[str, float]] = []
#: Where this script speaks: the terminal (a copy of stdout's descriptor), even while stdout goes to the log file.
console = os.fdopen(os.dup(1), "w", buffering=1)


class QuickstartError(Exception):
    """A failure explained in one paragraph: what went wrong, and the fix."""


def say(text: str) -> None:
    print(text, file=console, flush=True)


def step(name: str, started: float) -> None:
    steps.append((name, time.monotonic() - started))
    say(f"  done: {name} ({steps[-1][1]:.1f} s)")


def configure(home: Path, videos: Path, poll_interval: float) -> None:
    bundle = {
        "name": "examples",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(REPO / "example_dags")},
    }
    fernet_key = home / "fernet.key"
    if not fernet_key.exists():  # else Airflow warns that what it stores is not encrypted
        from cryptography.fernet import Fernet

        fernet_key.write_bytes(Fernet.generate_key())
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": fernet_key.read_text().strip(),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
            # INFO: the task's own log (what it sent, what Kling answered, the units charged) is the run's record.
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "KLING_OUTPUT_PATH": f"file://{videos}",
            "KLING_POLL_INTERVAL": str(poll_interval),
        }
    )


@contextmanager
def output_to(log: Path | None) -> Iterator[None]:
    """Send everything written to stdout and stderr (Airflow's, the task's) to ``log``; None leaves it be."""
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("ab") as target:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def show_progress(done: threading.Event, started: float) -> None:
    while not done.wait(5):
        say(f"  ... waiting for the video ({time.monotonic() - started:.0f} s)")


def stored_result(dag_run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == DAG_ID,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == "generate",
                XComModel.key == "return_value",
            )
        )


def check_connection(host: str, own_key: bool) -> None:
    """The connection's free test request; a refusal ends the run before anything is submitted."""
    from airflow_provider_kling.hooks.kling import KlingHook

    ok, message = KlingHook().test_connection()
    if not ok:
        about_the_key = re.search(r"API key|password", message)
        about_the_host = message.startswith("The service could not be reached") or "host" in message
        key_fix = "KLING_API_KEY (the connection's password here: your CometAPI key, sk-...)"
        host_fix = f"KLING_BASE_URL ({DEFAULT_BASE_URL} unless set)"
        if not own_key:
            fix = "The local sandbox did not answer: run again, or with --verbose to see why"
        elif about_the_key and not about_the_host:
            fix = f"Check {key_fix}"
        elif about_the_host and not about_the_key:
            fix = f"Check {host_fix}"
        else:
            fix = f"Check {key_fix} and {host_fix}"
        raise QuickstartError(
            f"The Kling endpoint at {host} was not usable: {message.rstrip('.')}. {fix}. Nothing was submitted."
        )


def cause_in(log: Path) -> str:
    """The last error of the provider that the run's log names, or a pointer to the log."""
    text = log.read_text(errors="replace") if log.exists() else ""
    causes = re.findall(r"\b(Kling\w*Error: [^\n]+)", text)
    return causes[-1] if causes else f"see {log}"


def run(verbose: bool) -> Path:
    home, videos = DEMO / "airflow", DEMO / "videos"
    home.mkdir(parents=True, exist_ok=True)
    log = None if verbose else DEMO / "last-run.log"
    if log is not None:
        log.write_bytes(b"")
    own_key = bool(os.environ.get("KLING_API_KEY"))
    configure(home, videos, poll_interval=10 if own_key else 1)
    with ExitStack() as stack:
        started = time.monotonic()
        host, api_key = endpoint(stack)
        os.environ["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps({"conn_type": "kling", "host": host, "password": api_key})
        with output_to(log):
            check_connection(host, own_key=own_key)
        step("check the Kling endpoint", started)

        started = time.monotonic()
        if (home / "airflow.db").exists():
            say(f"Reusing the Airflow metadata DB in {home}")
        else:
            say(f"Creating the Airflow metadata DB in {home}")
            migrated = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True
            )
            if migrated.returncode:
                raise QuickstartError(f"Airflow could not make its metadata DB: {migrated.stderr.strip()[-500:]}")
        step("prepare Airflow", started)

        started = time.monotonic()
        with output_to(log):
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(str(REPO / "example_dags"))
        if bag.import_errors:
            raise QuickstartError(f"The example DAGs failed to import: {bag.import_errors}")
        step("load the example DAGs", started)

        started = time.monotonic()
        say(f"Running {DAG_ID}: submit, wait for Kling, store the video")
        done = threading.Event()
        threading.Thread(target=show_progress, args=(done, started), daemon=True).start()
        try:
            with output_to(log):
                dag_run = bag.dags[DAG_ID].test()
        finally:
            done.set()
        if dag_run.state != "success":
            where = "" if log is None else f" (Airflow's output: {log})"
            raise QuickstartError(f"The DAG run ended {dag_run.state}: {cause_in(log) if log else 'see above'}{where}")
        step(f"run {DAG_ID}", started)

    video = stored_result(dag_run)["task_result"]["videos"][0]
    path = Path(video["stored_path"].removeprefix("file://"))
    if path.read_bytes()[4:8] != b"ftyp":
        raise QuickstartError(f"{path} is not an MP4 file")
    served = "" if own_key else " (served by the local sandbox while this script ran)"
    say(f"\nVideo URL:  {video['url']}{served}")
    say(f"Stored at:  {path} ({path.stat().st_size} bytes)")
    say("Timings:    " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps))
    if log is not None:
        say(f"Airflow's own output: {log}")
    return path


def endpoint(stack: ExitStack) -> tuple[str, str]:
    """The base URL and key of the Kling endpoint: CometAPI's with KLING_API_KEY, else a sandbox started here."""
    api_key = os.environ.get("KLING_API_KEY")
    if api_key:
        host = os.environ.get("KLING_BASE_URL", DEFAULT_BASE_URL)
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise QuickstartError(
                f"KLING_BASE_URL is {host!r}: give its host with http:// or https://, for example {DEFAULT_BASE_URL}"
            )
        local = parts.hostname in LOCAL_HOSTS
        say(f"Using {host} with KLING_API_KEY" + (" (a local address)" if local else ": this generation is paid for"))
        return host, api_key
    from airflow_provider_kling.sandbox import KlingSandbox

    api_key = f"sandbox-{secrets.token_hex(8)}"
    sandbox = stack.enter_context(KlingSandbox(api_key=api_key, render_seconds=5))
    say(f"No KLING_API_KEY: using the local Kling sandbox at {sandbox.url} (nothing is spent)")
    return sandbox.url, api_key


def watch_in_the_ui(port: int) -> None:
    """Run the example in ``airflow standalone``, trigger it once, print where to watch it; stop on Ctrl+C."""
    home, videos = DEMO / "ui-airflow", DEMO / "videos"
    home.mkdir(parents=True, exist_ok=True)
    own_key = bool(os.environ.get("KLING_API_KEY"))
    configure(home, videos, poll_interval=10 if own_key else 1)
    log = DEMO / "ui-airflow.log"
    if not port_is_free(port):
        raise QuickstartError(f"Port {port} is in use (another Airflow?): choose another with --port")
    with ExitStack() as stack:
        host, api_key = endpoint(stack)
        ui = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "AIRFLOW_CONN_KLING_DEFAULT": json.dumps({"conn_type": "kling", "host": host, "password": api_key}),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{ui}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the quickstart runs: others may pay
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # standalone keeps its metadata in SQLite, whose writers queue: on a busy machine the task's first
                # call to the API server outlasted Airflow's 5 s (four times over), and the task failed unstarted.
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
                # And Airflow may fail a task there before it starts ("the LocalExecutor reported that the task
                # instance finished with state success, but [its] state attribute is queued", 2026-11-27): one quick
                # retry, which never pays twice (the operator takes up its earlier submission), saves the run.
                "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "1",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
                # standalone starts each component as an `airflow` command: this venv's
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        with output_to(log):
            check_connection(host, own_key=own_key)
        # Stop Airflow with this script, however it ends: standalone runs in a session of its own.
        for ending in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(ending, lambda *_: sys.exit(0))
        say(f"Starting Airflow (airflow standalone; its output: {log})")
        airflow = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"],
            stdout=stack.enter_context(log.open("ab")),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(stop, airflow)
        wait_until(airflow, lambda: answers(f"{ui}/api/v2/monitor/health"), "the API server answered", log)
        # Only this DAG runs: the other examples stay paused (with a real key, each run is paid for).
        unpause = [sys.executable, "-m", "airflow", "dags", "unpause", DAG_ID]
        wait_until(
            airflow, lambda: subprocess.run(unpause, capture_output=True).returncode == 0, "the DAG was read", log
        )
        # The content-calendar example runs in the kling pool, as the docs recommend: unpaused, it then runs here too.
        pool = ["pools", "set", "kling", "5", "Kling account concurrency", "--include-deferred"]
        subprocess.run([sys.executable, "-m", "airflow", *pool], capture_output=True, check=True)
        subprocess.run([sys.executable, "-m", "airflow", "dags", "trigger", DAG_ID], capture_output=True, check=True)
        say(f"Triggered {DAG_ID}. Watch it in the Airflow UI: {ui}/dags/{DAG_ID}")
        say("Every user is an admin in this local Airflow: no login. The task's 'Kling video' link opens the video.")
        say("Press Ctrl+C to stop Airflow.")
        with suppress(KeyboardInterrupt):
            airflow.wait()
        say("Stopping Airflow")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until(airflow: subprocess.Popen, ready, what: str, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if airflow.poll() is not None or time.monotonic() > deadline:
            raise QuickstartError(f"Airflow stopped, or took too long, before {what}: see {log}")
        time.sleep(1)


def stop(airflow: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):  # already gone
        os.killpg(airflow.pid, signal.SIGTERM)
        try:
            airflow.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(airflow.pid, signal.SIGKILL)
            airflow.wait()


def tcp_port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give a number from 1 to 65535, for example 8081")
    return int(text)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bash scripts/quickstart.sh",
        allow_abbrev=False,
        description="Generate one video with the kling_quickstart example DAG and store it. Without KLING_API_KEY a "
        "local Kling sandbox stands in for CometAPI (nothing is spent); KLING_BASE_URL overrides CometAPI's address "
        "and KLING_DEMO_DIR the folder of Airflow's home and the videos (default .kling-demo/).",
    )
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own output, and any traceback")
    parser.add_argument("--ui", action="store_true", help="run it in airflow standalone, to watch in the UI")
    parser.add_argument("--port", type=tcp_port, help="the UI's port with --ui (default 8080)")
    arguments = parser.parse_args()
    if arguments.port is not None and not arguments.ui:
        parser.error("--port is the UI's port: give it with --ui")
    return arguments


def main() -> int:
    arguments = parse_arguments()
    verbose = arguments.verbose
    if not verbose:
        warnings.simplefilter("ignore")
        os.environ["PYTHONWARNINGS"] = "ignore"  # and in the Airflow commands this starts
    try:
        if arguments.ui:
            watch_in_the_ui(8080 if arguments.port is None else arguments.port)
        else:
            run(verbose)
    except KeyboardInterrupt:
        say("\nquickstart stopped")
        return 130
    except QuickstartError as error:
        say(f"\nquickstart failed: {error}")
        return 1
    except Exception as error:
        if verbose:
            raise
        say(f"\nquickstart failed: {type(error).__name__}: {error} (run with --verbose for the traceback)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
