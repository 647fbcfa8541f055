"""Shared fixtures: a private AIRFLOW_HOME with a real metadata DB, and the Kling sandbox on loopback."""

from __future__ import annotations

import json
import os
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
                for name, folder in (("tests", "tests/dags"), ("examples", "example_dags"))
            ]
        ),
        # The example DAGs read these: poll fast, store videos in the private home.
        "KLING_POLL_INTERVAL": "0.2",
        "KLING_OUTPUT_PATH": f"file://{AIRFLOW_HOME / 'videos'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }
)

from airflow_provider_kling.sandbox import KlingSandbox  # noqa: E402

#: A key that is easy to grep for: it must never show up in logs, errors or XCom.
SECRET_KEY = "sk-kling-TEST-SECRET-0123456789abcdef"


def connection_json(url: str, key: str = SECRET_KEY, **extra: object) -> str:
    """The JSON form of a ``kling`` connection, as in ``AIRFLOW_CONN_KLING_DEFAULT``."""
    return json.dumps({"conn_type": "kling", "host": url, "password": key, "extra": {"retry_delay": 0.01, **extra}})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the private AIRFLOW_HOME (made once per test session)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def session_sandbox() -> Iterator[KlingSandbox]:
    with KlingSandbox(api_key=SECRET_KEY, render_seconds=0.6) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(session_sandbox: KlingSandbox, monkeypatch: pytest.MonkeyPatch) -> KlingSandbox:
    """The sandbox, emptied, with ``kling_default`` pointing at it."""
    session_sandbox.reset()
    session_sandbox.render_seconds = 0.6
    session_sandbox.lookup_by_external_id = True
    session_sandbox.video_bytes = 0
    session_sandbox.chaos_rate = 0.0
    session_sandbox.latency = 0.0
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(session_sandbox.url))
    return session_sandbox
