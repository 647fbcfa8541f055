"""The operator in a real Airflow (API server, scheduler, DAG processor and triggerer processes), against the
sandbox in both profiles at once: each DAG exists once per profile, on connection ``kling_<profile>``, and each
test runs both, so that a killed component is killed under both backends' waits."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PROFILES, REPO, SECRET_KEY, connection_json, reset_sandbox
from support.airflow_services import AirflowServices

from airflow_provider_kling.sandbox import Fault


@pytest.fixture(scope="module")
def services(servers):
    airflow = AirflowServices(
        REPO / "tests" / "dags" / "services",
        # Keys pasted from files end in a newline: the connections here carry one.
        env={
            **{
                f"AIRFLOW_CONN_KLING_{profile.upper()}": connection_json(servers[profile], key=f"{SECRET_KEY}\n")
                for profile in PROFILES
            },
            # The UI's requests need a token: every user is an admin here.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        },
    )
    airflow.start()
    yield airflow
    airflow.stop(remove_home=True)


@pytest.fixture
def sandboxes(servers, monkeypatch):
    """Both sandboxes, emptied."""
    return {profile: reset_sandbox(servers[profile], monkeypatch) for profile in PROFILES}


def state(services, dag_id, run_id):
    return services.task_states(dag_id, run_id).get(("generate", -1))


def wait_until_done(services, runs, seen):
    """Wait for every (dag_id, run_id) in ``runs`` to end; note each state seen on the way."""

    def done():
        states = {}
        for dag_id, run_id in runs:
            states[dag_id] = state(services, dag_id, run_id)
            seen.setdefault(dag_id, []).append(states[dag_id])
        ended = all(value in ("success", "failed", "upstream_failed") for value in states.values())
        return states if ended else None

    return services.wait_for(f"{runs} to finish", done)


def logs_once(services, what, ready) -> str:
    """Every log, once ``ready(logs)``: a run can be marked a success before its task's supervisor has written
    the last of the task's log."""

    def check():
        logs = services.all_logs()
        return logs if ready(logs) else None

    return services.wait_for(what, check, timeout=60)


def polled(sandbox, endpoint: str = "text2video") -> bool:
    """Whether the wait for a task of ``endpoint`` has asked the sandbox at least once (it is inside its wait)."""
    route = sandbox.backend.path(f"/v1/videos/{endpoint}/")
    return any(method == "GET" and path.startswith(route) for method, path in list(sandbox.requests))


def echoes_of_the_key() -> list[Fault]:
    """Answers of a service that echoes the Authorization header into every field it has, for the waits' polls."""
    header = f"Bearer {SECRET_KEY}"
    relay = {"error": {"code": header, "message": f"echo {header}", "type": "comet_api_error"}}
    return [
        Fault(
            status=500, body=json.dumps({"code": 5000, "message": f"echo {header}", "request_id": header}), method="GET"
        ),
        Fault(status=503, body=json.dumps(relay), method="GET"),
        Fault(status=502, body=f"<html>{'x' * 190}{header}</html>", method="GET"),
    ]


def test_a_deferred_task_survives_a_killed_triggerer_and_an_echoing_service(services, sandboxes):
    # The renders last until both tasks wait in the triggerer, however long a busy machine takes to get there.
    runs = []
    for sandbox in sandboxes.values():
        sandbox.render_seconds = 3600
        runs.append((f"kling_deferred_{sandbox.profile}", services.trigger_dag(f"kling_deferred_{sandbox.profile}")))
    services.wait_for(
        "the tasks to defer", lambda: all(state(services, *run) == "deferred" for run in runs), timeout=240
    )
    services.wait_for("the triggerer to poll each task", lambda: all(polled(sandbox) for sandbox in sandboxes.values()))
    services.kill("triggerer")  # what it logged last may go with it: the echoes are for the next one, which lives
    for sandbox in sandboxes.values():
        sandbox.inject(*echoes_of_the_key())
        sandbox.end_renders_in(8)  # long enough that Airflow's own queued/success race cannot decide the outcome
    services.start("triggerer")
    seen: dict = {}
    assert set(wait_until_done(services, runs, seen).values()) == {"success"}
    for dag_id, run_id in runs:
        services.wait_for("the run to succeed", lambda: services.run_state(dag_id, run_id) == "success")  # noqa: B023
    for sandbox in sandboxes.values():
        assert len(sandbox.tasks) == 1 and len(sandbox.submissions) == 1, sandbox.profile
        assert sandbox.requests[0] == ("POST", sandbox.route)
        assert sandbox.submissions[0]["prompt"] == "A hot-air balloon over Cappadocia"
        assert sandbox.stats()["faults_pending"] == 0, "the echoes were served"
    # The new triggerer's retries of the echoes, and each task's resumption on a worker.
    logs = logs_once(
        services,
        "the trigger and task logs",
        lambda text: (
            "Kling request failed" in text and len(set(re.findall(r"Kling task (\d+) ended succeed after", text))) == 2
        ),
    )
    assert "TEST-SECRET" not in logs  # the key, sent with a trailing newline in the connection, in no form


def test_a_worker_killed_mid_wait_is_retried_without_paying_twice(services, sandboxes):
    # The retry reads the generation by the task_id in the task state store: every backend answers that.
    runs = []
    for sandbox in sandboxes.values():
        # Both workers must be inside their wait at once, however far apart a loaded machine starts them
        # (15 s renders once let the first finish before the second began: 1 run in 9; 40 s once did too).
        sandbox.render_seconds = 3600
        dag_id = f"kling_blocking_retried_{sandbox.profile}"
        runs.append((dag_id, services.trigger_dag(dag_id)))
    services.wait_for(
        "the workers to submit",
        lambda: (
            all(len(sandbox.tasks) == 2 for sandbox in sandboxes.values())
            and all(state(services, *run) == "running" for run in runs)
            and all(polled(sandbox, "text2video") and polled(sandbox, "image2video") for sandbox in sandboxes.values())
        ),
    )
    # The scheduler's process group holds the LocalExecutor's workers and the tasks: SIGKILL them all.
    services.kill("scheduler")
    for sandbox in sandboxes.values():
        sandbox.end_renders_in(10)  # the retries find their generations still rendering
    services.start("scheduler")
    seen: dict = {}
    assert set(wait_until_done(services, runs, seen).values()) == {"success"}
    for dag_id, run_id in runs:
        query = "SELECT task_id, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?"
        tries = dict(services.query(query, dag_id, run_id))
        assert tries.keys() == {"generate", "animate"} and min(tries.values()) >= 2, (dag_id, tries)
    for sandbox in sandboxes.values():
        assert sorted(task.endpoint for task in sandbox.tasks.values()) == ["image2video", "text2video"], (
            sandbox.profile
        )
        assert len(sandbox.submissions) == 2, sandbox.profile
    logs = logs_once(
        services, "the four retries' logs", lambda text: text.count("from an earlier try: not submitting again") >= 4
    )
    assert "TEST-SECRET" not in logs


def list_test_button_body(connection: dict) -> dict:
    """The body Airflow 3's connection list sends for its Test button, built as its UI builds it from the stored
    connection (JavaScript's ``Number(null)`` is 0: a connection saved without a port is sent with port 0)."""
    blank = {key: connection.get(key) or "" for key in ("description", "host", "login", "password", "schema")}
    extra = connection.get("extra") or "{}"
    port = connection.get("port") or 0
    return {
        **blank,
        "conn_type": connection["conn_type"],
        "connection_id": connection["connection_id"],
        "extra": extra,
        "port": port,
    }


@pytest.mark.parametrize("port", [443, None])
def test_the_connection_list_s_test_button_reaches_the_hook_for_a_saved_connection(services, sandboxes, port):
    import httpx
    from airflow import __version__ as airflow_version
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS
    from packaging.version import Version

    if not AIRFLOW_V_3_1_PLUS:
        pytest.skip("Airflow 3.0's test endpoint does not take the stored key for the masked one the UI sends")

    sandbox = sandboxes["cometapi"]
    conn_id = f"kling_ui_{port}"
    saved = {"conn_type": "kling", "host": sandbox.url, "password": SECRET_KEY, "port": port}
    services.airflow("connections", "add", conn_id, "--conn-json", json.dumps(saved))
    api = f"http://127.0.0.1:{services.env['AIRFLOW__API__PORT']}"
    token = services.wait_for("the API server", lambda: _token(httpx, api))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api, headers=headers, timeout=60) as client:
        stored = client.get(f"/api/v2/connections/{conn_id}").raise_for_status().json()
        assert stored["password"] != SECRET_KEY  # the UI holds the masked key, never the key
        answer = client.post("/api/v2/connections/test", json=list_test_button_body(stored))
    version = Version(airflow_version).release[:3]
    if port is None and version == (3, 3, 2):  # Airflow's bug (apache/airflow#73298): save the port
        assert answer.status_code == 400 and "differs from the stored connection" in answer.text, answer.text
    elif port is None and version == (3, 3, 1):  # the same bug: the masked key is tested, not the stored one
        assert answer.json()["status"] is False and "The API key was refused" in answer.json()["message"], answer.text
    else:
        assert answer.json()["status"] is True and "accepted" in answer.json()["message"], answer.text
        assert polled(sandbox)  # the hook asked the sandbox, with the stored key


def _token(httpx, api: str) -> str | None:
    try:
        answer = httpx.get(f"{api}/auth/token", timeout=10)
    except httpx.TransportError:
        return None
    return answer.json()["access_token"] if answer.status_code == 201 else None
