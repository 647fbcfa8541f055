"""The provider in the shape our users run Airflow: a PostgreSQL metadata DB, the CeleryExecutor with Redis and two
workers, and two triggerers, one of which is killed while it holds waits (for renders, and for a free slot on an
account whose concurrency a fan-out outgrows). The servers are Debian's packages (``.ci/run`` installs them and
requires this test); elsewhere, without them, it is skipped, saying which is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO, SECRET_KEY, connection_json, reset_sandbox
from dags.production.kling_fan_out import ACCOUNT_CONCURRENCY, CONNECTIONS, PROMPTS
from dags.production.kling_production import FAN_OUT
from support.airflow_services import AirflowServices, ProductionShape

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
        REPO / "tests" / "dags" / "production",
        env={
            # A wait for a slot probes after retry_delay, doubling: 1 s, as a user might set it.
            "AIRFLOW_CONN_KLING_DEFAULT": connection_json(servers["cometapi"], retry_delay=1),
            "AIRFLOW_CONN_KLING_OWN": connection_json(servers["kling"], retry_delay=1),
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
    airflow.triggerer_jobs = dict(zip(running_triggerers(airflow), ("triggerer-1", "triggerer-2"), strict=True))
    yield airflow
    airflow.stop(remove_home=True)


def running_triggerers(airflow: AirflowServices) -> list[int]:
    query = "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' ORDER BY id"
    return [job_id for (job_id,) in airflow.query(query)]


def triggerers_alive(airflow: AirflowServices) -> dict[int, str]:
    """Both triggerers' processes by their job ids, each started again (alone, to learn its job) if a test killed it."""
    for name in ("triggerer-1", "triggerer-2"):
        if name not in airflow.processes:
            known = set(running_triggerers(airflow))
            airflow.start(name)
            (job,) = airflow.wait_for(
                f"{name} to start again", lambda known=known: set(running_triggerers(airflow)) - known
            )
            airflow.triggerer_jobs = {**{k: v for k, v in airflow.triggerer_jobs.items() if v != name}, job: name}
    return airflow.triggerer_jobs


def test_deferred_sensor_and_fan_out_survive_a_killed_triggerer_on_postgres_and_celery(
    production, servers, monkeypatch
):
    sandbox = reset_sandbox(servers["cometapi"], monkeypatch)
    # The renders last until every wait is in a triggerer, however long a loaded machine takes to get there.
    sandbox.render_seconds = 3600
    triggerers = triggerers_alive(production)
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
    ran = {worker: celery_runs(production, worker, DAG_ID) for worker in ("celery-worker-1", "celery-worker-2")}
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


def celery_runs(airflow: AirflowServices, worker: str, dag_id: str) -> Counter:
    """The task instances of a DAG that a Celery worker executed, each with how many times, read from its log."""
    executed = re.compile(
        r"Executing workload in Celery: .*?dag_id=(\w+)/run_id=[^/]+/task_id=(\w+)(?:/map_index=(\d+))?/attempt="
    )
    (log,) = airflow.home.glob(f"{worker}-*.log")
    return Counter(
        (task_id, int(map_index or -1))
        for dag, task_id, map_index in executed.findall(log.read_text(errors="replace"))
        if dag == dag_id
    )


def ended_well(airflow: AirflowServices, runs: dict[str, str]) -> dict[str, dict]:
    """Wait for each DAG run (dag id: run id) to end; check that every task instance succeeded on its first try."""
    airflow.wait_for(
        f"{sorted(runs)} to end",
        lambda: all(airflow.run_state(dag_id, run_id) in ("success", "failed") for dag_id, run_id in runs.items()),
        timeout=420,
    )
    for dag_id, run_id in runs.items():
        states = airflow.task_states(dag_id, run_id)
        assert set(states.values()) == {"success"}, (dag_id, states)
        tries = airflow.query("SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        assert {try_number for (try_number,) in tries} == {1}, (dag_id, tries)
    return {
        dag_id: {
            map_index: value
            for map_index, value in airflow.query(
                "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
                dag_id,
                run_id,
            )
        }
        for dag_id, run_id in runs.items()
    }


def accounts(servers, monkeypatch) -> dict[str, object]:
    """Both sandboxes, emptied, as accounts of :data:`ACCOUNT_CONCURRENCY` whose renders last until let go."""
    sandboxes = {profile: reset_sandbox(servers[profile], monkeypatch) for profile in CONNECTIONS}
    for sandbox in sandboxes.values():
        sandbox.concurrency = ACCOUNT_CONCURRENCY
        sandbox.render_seconds = 3600
    return sandboxes


def let_renders_go(sandboxes) -> None:
    """From now on every render lasts 4 to 8 s, those under way included."""
    for sandbox in sandboxes.values():
        sandbox.render_seconds, sandbox.render_spread = 4, 4
        sandbox.end_renders_in(4)


def test_a_fan_out_wider_than_the_account_waits_for_free_slots_through_a_killed_triggerer(
    production, servers, monkeypatch
):
    sandboxes = accounts(servers, monkeypatch)
    triggerers = triggerers_alive(production)
    runs = {f"kling_fan_out_{profile}": production.trigger_dag(f"kling_fan_out_{profile}") for profile in CONNECTIONS}

    def slot_waits_held() -> dict[int, int] | None:
        # Both accounts full, and waits for a slot held in the triggerers on both.
        if any(len(sandbox.tasks) < ACCOUNT_CONCURRENCY for sandbox in sandboxes.values()):
            return None
        query = (
            "SELECT task_instance.dag_id, trigger.triggerer_id FROM task_instance JOIN trigger"
            " ON task_instance.trigger_id = trigger.id WHERE trigger.classpath = ? AND trigger.triggerer_id IS NOT NULL"
        )
        held = production.query(query, "airflow_provider_kling.triggers.kling.KlingSlotTrigger")
        if {dag_id for dag_id, _ in held} != set(runs):
            return None
        return Counter(triggerer for _, triggerer in held)

    held = production.wait_for("waits for a slot in the triggerers on both accounts", slot_waits_held, timeout=240)
    production.kill(triggerers[max(held, key=held.get)])  # the triggerer that holds the most waits for a slot
    let_renders_go(sandboxes)
    returned = ended_well(production, runs)

    # Every submission beyond the account's concurrency was refused, none failed a task, and none was paid twice.
    resumes_at_end = 0 if importlib.util.find_spec("airflow.models.task_state_store") else 1
    for profile, sandbox in sandboxes.items():
        dag_id = f"kling_fan_out_{profile}"
        assert sandbox.stats()["refused_for_concurrency"] > 0 and sandbox.most_rendering == ACCOUNT_CONCURRENCY
        assert sorted(task.body["prompt"] for task in sandbox.tasks.values()) == sorted(PROMPTS)
        assert sorted(value["task_id"] for value in returned[dag_id].values()) == sorted(sandbox.tasks)
        # A worker started once for each try to submit (the first, and one after each wait for a slot), and for
        # nothing else: no worker slot was held while a generation waited for a slot or rendered.
        sent = Counter(body["prompt"] for body in sandbox.submissions)
        ran = sum(
            (celery_runs(production, worker, dag_id) for worker in ("celery-worker-1", "celery-worker-2")), Counter()
        )
        assert {("generate", index): sent[prompt] + resumes_at_end for index, prompt in enumerate(PROMPTS)} == ran
    logs = production.all_logs()
    # Each try's log (the worker's, which each start appends to) says when it waited for a slot and for how long;
    # the triggerer's log of the wait itself is Airflow's to keep (it keeps the last trigger's of a try).
    assert re.search(r"refused the submission for the account's concurrency \(refused 1 times, 0 s so far\)", logs)
    assert re.search(
        r"A slot may be free on the Kling account \([^)]+\): submitting again after \d+ s of waiting", logs
    )
    assert SECRET_KEY not in logs


def test_a_pool_of_the_accounts_size_keeps_every_submission_within_it(production, servers, monkeypatch):
    sandboxes = accounts(servers, monkeypatch)
    let_renders_go(sandboxes)
    for profile in CONNECTIONS:
        production.airflow(
            "pools",
            "set",
            f"kling_{profile}",
            str(ACCOUNT_CONCURRENCY),
            "Kling account concurrency",
            "--include-deferred",
        )
    runs = {f"kling_pooled_{profile}": production.trigger_dag(f"kling_pooled_{profile}") for profile in CONNECTIONS}
    ended_well(production, runs)
    for sandbox in sandboxes.values():
        assert sandbox.stats()["refused_for_concurrency"] == 0 and len(sandbox.tasks) == len(PROMPTS)
        assert sandbox.most_rendering == ACCOUNT_CONCURRENCY
