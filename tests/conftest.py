"""Shared fixtures: a private AIRFLOW_HOME with a real metadata DB, and the Kling sandbox on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Airflow reads its configuration when first imported: point it at a private home before that.
REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="kling-airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": name,
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(REPO / folder)},
                }
                for name, folder in (("tests", "tests/dags/operator"), ("examples", "example_dags"))
            ]
        ),
        # The example DAGs read these: poll fast, store videos in the private home.
        "KLING_POLL_INTERVAL": "0.2",
        "KLING_OUTPUT_PATH": f"file://{AIRFLOW_HOME / 'videos'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }
)

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS  # noqa: E402
from support.airflow_lines import load_dags, share_in_process_execution_api  # noqa: E402

from airflow_provider_kling.sandbox import KlingSandbox  # noqa: E402

share_in_process_execution_api()

if AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS:
    # Airflow 3.0's dag.test() leaves structlog as a developer's console has it: DEBUG, where its
    # in-process supervisor prints every message a task sends (secrets to mask included), and rich
    # tracebacks, wrapped to 80 columns and with every frame's locals. Log as deployments do instead:
    # INFO, plain tracebacks.
    import logging

    import structlog

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave nothing behind: the private AIRFLOW_HOME goes with the session."""
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


#: A key that is easy to grep for: it must never show up in logs, errors or XCom.
SECRET_KEY = "sk-kling-TEST-SECRET-0123456789abcdef"
#: Kling's own API: the access key (the JWT's issuer) that goes beside the secret key.
ACCESS_KEY = "ak-kling-TEST-ACCESS-0123456789"
#: The sandbox's profiles: CometAPI's gateway and Kling's own API.
PROFILES = ("cometapi", "kling")


def connection_json(target: KlingSandbox | str, key: str = SECRET_KEY, **extra: object) -> str:
    """
    The JSON form of a ``kling`` connection, as in ``AIRFLOW_CONN_KLING_DEFAULT``, for a sandbox (its
    profile picks the backend and the credentials) or a bare URL (CometAPI's backend).
    """
    conn: dict[str, object] = {"conn_type": "kling", "password": key}
    extra = {"retry_delay": 0.01, **extra}
    if isinstance(target, KlingSandbox):
        conn["host"] = target.url
        if target.profile == "kling":
            conn["login"] = ACCESS_KEY
            extra["backend"] = "kling"
    else:
        conn["host"] = target
    return json.dumps({**conn, "extra": extra})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the private AIRFLOW_HOME (made once per test session)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    """The test DAGs (tests/dags/operator), loaded once per session."""
    bag = load_dags(str(REPO / "tests" / "dags" / "operator"))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, KlingSandbox]]:
    """One sandbox server per profile, started when first asked for, stopped at the end of the session."""
    started: dict[str, KlingSandbox] = {}

    class Servers(dict):
        def __missing__(self, profile: str) -> KlingSandbox:
            server = started[profile] = KlingSandbox(
                api_key=SECRET_KEY, access_key=ACCESS_KEY, render_seconds=0.6, profile=profile
            ).start()
            self[profile] = server
            return server

    yield Servers()
    for server in started.values():
        server.stop()


def reset_sandbox(server: KlingSandbox, monkeypatch: pytest.MonkeyPatch) -> KlingSandbox:
    """The sandbox, emptied and reset to its defaults, with ``kling_default`` pointing at it."""
    server.reset()
    server.render_seconds = 0.6
    server.video_bytes = 0
    server.chaos_rate = 0.0
    server.latency = 0.0
    server.rate_limit = 0.0
    server.concurrency = 0
    server.units = "1"
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(server))
    return server


@pytest.fixture(params=PROFILES)
def sandbox(request: pytest.FixtureRequest, servers, monkeypatch: pytest.MonkeyPatch) -> KlingSandbox:
    """The sandbox in each profile in turn (for tests whose outcome can depend on the service)."""
    return reset_sandbox(servers[request.param], monkeypatch)


@pytest.fixture
def cometapi_sandbox(servers, monkeypatch: pytest.MonkeyPatch) -> KlingSandbox:
    """The sandbox as CometAPI's gateway only (for what does not depend on the service, or only CometAPI does)."""
    return reset_sandbox(servers["cometapi"], monkeypatch)


@pytest.fixture
def kling_sandbox(servers, monkeypatch: pytest.MonkeyPatch) -> KlingSandbox:
    """The sandbox as Kling's own API only."""
    return reset_sandbox(servers["kling"], monkeypatch)
