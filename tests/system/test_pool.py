"""The Airflow way to stop the account's refusals at the source, under a real scheduler and triggerer, on every
Airflow line CI runs (the oldest, 2.11, included): a pool whose slots are the account's concurrency and that counts
deferred tasks keeps a deferred fan-out within the account, so that no submission is refused."""

from __future__ import annotations

import os

import pytest
from conftest import REPO, connection_json, reset_sandbox
from dags.pool.kling_pooled import WIDTH
from support.airflow_services import AirflowServices, ProductionShape

#: The deployment runs on PostgreSQL on every line (Airflow 2's LocalExecutor refuses SQLite; on a busy SQLite,
#: Airflow 3.0's API server failed a task's report now and then).
MISSING = ProductionShape.missing(celery=False)
pytestmark = pytest.mark.skipif(
    bool(MISSING) and not os.environ.get("KLING_REQUIRE_PRODUCTION_SHAPE"), reason=str(MISSING)
)
ACCOUNT_CONCURRENCY = 2


@pytest.fixture(scope="module")
def airflow(servers):
    services = AirflowServices(
        REPO / "tests" / "dags" / "pool",
        env={"AIRFLOW_CONN_KLING_DEFAULT": connection_json(servers["cometapi"], retry_delay=1)},
        parallelism=4,
        postgres=True,
    )
    services.airflow(
        "pools", "set", "kling", str(ACCOUNT_CONCURRENCY), "Kling account concurrency", "--include-deferred"
    )
    services.start()
    yield services
    services.stop(remove_home=True)


def test_a_pool_that_counts_deferred_tasks_keeps_a_fan_out_within_the_accounts_concurrency(
    airflow, servers, monkeypatch
):
    sandbox = reset_sandbox(servers["cometapi"], monkeypatch)
    sandbox.concurrency = ACCOUNT_CONCURRENCY
    sandbox.render_seconds, sandbox.render_spread = 4, 2  # long enough that a loaded machine still overlaps two
    run_id = airflow.trigger_dag("kling_pooled")
    busiest = 0

    def ended() -> bool:
        nonlocal busiest
        states = list(airflow.task_states("kling_pooled", run_id).values())
        busiest = max(busiest, sum(state in ("queued", "running", "deferred") for state in states))
        return airflow.run_state("kling_pooled", run_id) in ("success", "failed")

    airflow.wait_for("the pooled fan-out to end", ended, timeout=300, interval=0.2)
    states = airflow.task_states("kling_pooled", run_id)
    failures = [line for line in airflow.all_logs().splitlines() if "ERROR" in line or "Error" in line]
    assert set(states.values()) == {"success"}, (states, failures[-40:], airflow.log_tail())
    # The pool held the deferred tasks too: never more at once than the account renders, and none refused.
    assert busiest <= ACCOUNT_CONCURRENCY, (busiest, airflow.log_tail())
    assert sandbox.stats()["refused_for_concurrency"] == 0, (sandbox.stats(), airflow.log_tail())
    assert sandbox.most_rendering == ACCOUNT_CONCURRENCY, sandbox.stats()
    assert len(sandbox.tasks) == len(sandbox.submissions) == WIDTH
