"""The provider in the shape our users run Airflow: a PostgreSQL metadata DB, the CeleryExecutor with Redis and two
workers, and two triggerers, one of which is killed while it holds waits. The servers are Debian's packages
(``.ci/run`` installs them and requires this test); elsewhere, without them, it is skipped, saying which is
missing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from airflow_services import AirflowServices, ProductionShape
from conftest import REPO, SECRET_KEY, connection_json, reset_sandbox
from production_dags.kling_production import FAN_OUT

MISSING = ProductionShape.missing()
#: CI sets KLING_REQUIRE_PRODUCTION_SHAPE=1: there, a missing server fails the test instead of skipping it.
pytestmark = pytest.mark.skipif(
    bool(MISSING) and not os.environ.get("KLING_REQUIRE_PRODUCTION_SHAPE"), reason=str(MISSING)
)

DAG_ID = "kling_production"
#: The task instances that submit a Kling task, each with its prompt.
SUBMITS = {
    ("generate", -1): "A tram in Lisbon at dawn",
    ("submit", -1): "A lighthouse in a storm",
    **{("fan_out", index): prompt for index, prompt in enumerate(FAN_OUT)},
}
#: The task instances that wait in a triggerer: the sensor waits on what ``submit`` submitted.
WAITS = [key for key in SUBMITS if key != ("submit", -1)] + [("wait", -1)]


@pytest.fixture(scope="module")
def production(servers):
    if MISSING:
        pytest.fail(MISSING)
    airflow = AirflowServices(
        REPO / "tests" / "production_dags",
        env={
            "AIRFLOW_CONN_KLING_DEFAULT": connection_json(servers["cometapi"]),
            # Each triggerer takes at most 5 of the 8 waits: both hold some when one is killed.
            "AIRFLOW__TRIGGERER__CAPACITY": "5",
            "C_FORCE_ROOT": "true",  # Celery's workers run as root in CI
        },
        production=True,
    )
    # The first triggerer's job row is the lower id: start it alone, so that each row names its process.
    airflow.start(*(name for name in airflow.components if name != "triggerer-2"))
    airflow.wait_for("the first triggerer", lambda: running_triggerers(airflow))
    airflow.start("triggerer-2")
    airflow.wait_for("the second triggerer", lambda: len(running_triggerers(airflow)) == 2)
    yield airflow
    airflow.stop(remove_home=True)


def running_triggerers(airflow: AirflowServices) -> list[int]:
    query = "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' ORDER BY id"
    return [job_id for (job_id,) in airflow.query(query)]


def test_deferred_sensor_and_fan_out_survive_a_killed_triggerer_on_postgres_and_celery(
    production, servers, monkeypatch
):
    sandbox = reset_sandbox(servers["cometapi"], monkeypatch)
    # The renders last until every wait is in a triggerer, however long a loaded machine takes to get there.
    sandbox.render_seconds = 3600
    triggerers = dict(zip(running_triggerers(production), ("triggerer-1", "triggerer-2"), strict=True))
    run_id = production.trigger_dag(DAG_ID)

    def all_waiting() -> dict[tuple[str, int], int] | None:
        states = production.task_states(DAG_ID, run_id)
        if any(states.get(key) != "deferred" for key in WAITS) or len(sandbox.tasks) < len(SUBMITS):
            return None
        polled = {path.rsplit("/", 1)[-1] for method, path in list(sandbox.requests) if method == "GET"}
        if not polled >= set(sandbox.tasks):
            return None
        query = (
            "SELECT task_instance.task_id, task_instance.map_index, trigger.triggerer_id FROM task_instance"
            " JOIN trigger ON task_instance.trigger_id = trigger.id WHERE task_instance.run_id = ?"
        )
        held = {(task_id, map_index): triggerer for task_id, map_index, triggerer in production.query(query, run_id)}
        return held if len(held) == len(WAITS) and None not in held.values() else None

    held = production.wait_for("every wait to be polled in a triggerer", all_waiting, timeout=240)
    assert set(held.values()) == set(triggerers), held  # capacity 5 of 8: each triggerer holds waits
    victim = max(triggerers, key=list(held.values()).count)
    production.kill(triggerers[victim])
    # The waits the killed triggerer held are taken over while still rendering.
    sandbox.end_renders_in(15)

    production.wait_for(
        "the run to end", lambda: production.run_state(DAG_ID, run_id) in ("success", "failed"), timeout=300
    )
    states = production.task_states(DAG_ID, run_id)
    assert set(states.values()) == {"success"}, states
    tries = production.query("SELECT task_id, map_index, try_number FROM task_instance WHERE run_id = ?", run_id)
    assert {try_number for _, _, try_number in tries} == {1}, tries
    # One Kling task per task instance that submits, each handed on through XCom in PostgreSQL.
    assert sorted(submission["prompt"] for submission in sandbox.submissions) == sorted(SUBMITS.values())
    assert len(sandbox.tasks) == len(SUBMITS)
    # XCom's value column is JSON, which psycopg2 decodes.
    returned = {
        (task_id, map_index): value
        for task_id, map_index, value in production.query(
            "SELECT task_id, map_index, value FROM xcom WHERE run_id = ? AND key = 'return_value'", run_id
        )
    }
    kling_task_ids = {key: returned[key]["task_id"] for key in SUBMITS}
    assert sorted(kling_task_ids.values()) == sorted(sandbox.tasks)
    assert returned[("wait", -1)]["task_id"] == kling_task_ids[("submit", -1)]
    # A downstream task read the operator's task object from XCom.
    assert returned[("first_video", -1)] == returned[("generate", -1)]["task_result"]["videos"][0]["url"]
    # Each submission's record, which a retry would read, is in the task state store in PostgreSQL (Airflow 3.3+).
    if importlib.util.find_spec("airflow.models.task_state_store"):
        records = production.query(
            "SELECT task_id, map_index, value FROM task_state_store WHERE run_id = ? AND key = 'kling_submission'",
            run_id,
        )
        stored = {(task_id, map_index): json.loads(value)["task_id"] for task_id, map_index, value in records}
        assert stored == kling_task_ids
    # The surviving triggerer took over each wait the killed one held (each triggerer writes its own trigger log).
    (survivor,) = set(triggerers) - {victim}
    for task_id, map_index in (key for key, triggerer in held.items() if triggerer == victim):
        attempt = task_log_folder(production, run_id, task_id, map_index) / f"attempt=1.log.trigger.{survivor}.log"
        assert attempt.is_file(), attempt
    # Every start and every resumption ran on a Celery worker, once. From Airflow 3.3 the waits, which neither store
    # videos nor emit Asset events, end in the triggerer: one start each, and no resumption (the XCom values and the
    # links checked here and above were set from the triggerer). Before, each wait resumes: two.
    wait_starts = 1 if importlib.util.find_spec("airflow.models.task_state_store") else 2
    ran = {worker: celery_runs(production, worker) for worker in ("celery-worker-1", "celery-worker-2")}
    assert all(ran.values()), "both workers ran tasks"
    assert sum(ran.values(), Counter()) == Counter(
        {**dict.fromkeys(WAITS, wait_starts), ("submit", -1): 1, ("first_video", -1): 1}
    )
    links = production.query(
        "SELECT task_id, map_index, value FROM xcom WHERE run_id = ? AND key = '_link_KlingVideoLink'", run_id
    )
    assert {(task_id, map_index): url for task_id, map_index, url in links if url} == {
        key: returned[key]["task_result"]["videos"][0]["url"] for key in WAITS
    }
    assert SECRET_KEY not in production.all_logs()


def task_log_folder(airflow: AirflowServices, run_id: str, task_id: str, map_index: int) -> Path:
    folder = airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    return folder / f"map_index={map_index}" if map_index >= 0 else folder


def celery_runs(airflow: AirflowServices, worker: str) -> Counter:
    """The task instances a Celery worker executed, each with how many times, read from the worker's log."""
    executed = re.compile(r"Executing workload in Celery: .*?/task_id=(\w+)(?:/map_index=(\d+))?/attempt=")
    (log,) = airflow.home.glob(f"{worker}-*.log")
    return Counter(
        (task_id, int(map_index or -1)) for task_id, map_index in executed.findall(log.read_text(errors="replace"))
    )
