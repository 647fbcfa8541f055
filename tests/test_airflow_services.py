"""The deferrable operator in a real Airflow: API server, scheduler, DAG processor and triggerer processes."""

from __future__ import annotations

import time

import pytest
from airflow_services import AirflowServices
from conftest import REPO, SECRET_KEY, connection_json

DAG_ID = "kling_deferred"


@pytest.fixture(scope="module")
def services(session_sandbox):
    airflow = AirflowServices(
        REPO / "tests" / "service_dags",
        env={"AIRFLOW_CONN_KLING_DEFAULT": connection_json(session_sandbox.url)},
    )
    airflow.start()
    yield airflow
    airflow.stop()


def wait_until_done(services, run_id, seen):
    def done():
        state = services.task_states(DAG_ID, run_id).get(("generate", -1))
        seen.append(state)
        return state if state in ("success", "failed", "upstream_failed") else None

    return services.wait_for(f"{DAG_ID} {run_id} to finish", done)


def test_the_task_defers_then_succeeds(services, sandbox):
    sandbox.render_seconds = 5
    run_id = services.trigger_dag(DAG_ID)
    seen: list = []
    assert wait_until_done(services, run_id, seen) == "success"
    assert "deferred" in seen
    services.wait_for("the run to succeed", lambda: services.run_state(DAG_ID, run_id) == "success")
    assert len(sandbox.tasks) == 1
    assert sandbox.submissions[0]["prompt"] == "A hot-air balloon over Cappadocia"
    logs = services.all_logs()
    assert "Kling task" in logs and "is processing after" in logs
    assert SECRET_KEY not in logs


def test_a_killed_triggerer_is_replaced_and_the_task_still_succeeds(services, sandbox):
    sandbox.render_seconds = 12
    run_id = services.trigger_dag(DAG_ID)
    services.wait_for(
        "the task to defer", lambda: services.task_states(DAG_ID, run_id).get(("generate", -1)) == "deferred"
    )
    time.sleep(1)
    services.kill("triggerer")
    services.start("triggerer")
    seen: list = []
    assert wait_until_done(services, run_id, seen) == "success"
    assert len(sandbox.tasks) == 1
    assert len(sandbox.submissions) == 1
    assert SECRET_KEY not in services.all_logs()
