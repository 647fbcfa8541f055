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


def wait_until_done(services, run_id, seen, dag_id=DAG_ID):
    def done():
        state = services.task_states(dag_id, run_id).get(("generate", -1))
        seen.append(state)
        return state if state in ("success", "failed", "upstream_failed") else None

    return services.wait_for(f"{dag_id} {run_id} to finish", done)


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


def test_a_worker_killed_mid_wait_is_retried_without_paying_twice(services, sandbox):
    dag_id = "kling_blocking_retried"
    sandbox.render_seconds = 15
    run_id = services.trigger_dag(dag_id)
    services.wait_for(
        "the worker to submit",
        lambda: sandbox.tasks and services.task_states(dag_id, run_id).get(("generate", -1)) == "running",
    )
    time.sleep(1)
    # The scheduler's process group holds the LocalExecutor's workers and the task: SIGKILL them all.
    services.kill("scheduler")
    services.start("scheduler")
    seen: list = []
    assert wait_until_done(services, run_id, seen, dag_id) == "success"
    tries = services.query("SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id)[0][0]
    assert tries >= 2
    assert len(sandbox.tasks) == 1
    assert len(sandbox.submissions) == 1
    assert "from an earlier try: not submitting again" in services.all_logs()
    assert SECRET_KEY not in services.all_logs()
