"""Chaos: generations through the operator (40, or KLING_CHAOS_GENERATIONS) while about a third of all API requests
fail, on each sandbox profile."""

from __future__ import annotations

import os
import re
from collections import Counter

from conftest import connection_json
from dags.operator.kling_test_dags import CHAOS_GENERATIONS
from support.airflow_lines import run

from airflow_provider_kling.sandbox.server import FAIL_MESSAGE


def test_generations_under_faults_pay_as_the_backend_allows_and_lose_nothing(dagbag, sandbox, monkeypatch, capfd):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, timeout=0.3))
    sandbox.render_seconds = 0.3
    sandbox.chaos_rate = 0.33
    sandbox._chaos.seed(int(os.environ.get("KLING_CHAOS_SEED", "20261124")))

    _dag_run, tis = run(dagbag, "kling_chaos")
    sandbox.chaos_rate = 0.0
    output = "".join(capfd.readouterr())

    generated = {key: ti for key, ti in tis.items() if key[0] == "generate"}
    doomed = {key: ti for key, ti in tis.items() if key[0] == "doomed"}
    total = CHAOS_GENERATIONS
    assert len(generated) == total * 9 // 10 and len(doomed) == total // 10
    assert all(ti.state == "success" for ti in generated.values()), Counter(ti.state for ti in generated.values())
    assert all(ti.state == "failed" for ti in doomed.values())
    assert output.count(FAIL_MESSAGE) >= len(doomed)

    tasks_by_instance = Counter(re.sub(r"-\d+$", "", task.body["external_task_id"]) for task in sandbox.tasks.values())
    duplicates = sum(count - 1 for count in tasks_by_instance.values())
    assert len(tasks_by_instance) == total
    stats = sandbox.stats()
    faults = stats["faults_served"]
    if sandbox.profile == "kling":
        assert duplicates == 0  # every lost answer is resolved by asking for the external_task_id
    else:
        # CometAPI cannot be asked: on_unknown_submission="resubmit" sends again, so a duplicate needs a lost
        # answer (a drop after the task was made, or an answer slower than the client's timeout) behind it.
        assert duplicates <= faults.get("drop", 0) + faults.get("delay", 0)
        same_id = Counter(task.body["external_task_id"] for task in sandbox.tasks.values())
        assert sum(count - 1 for count in same_id.values()) == duplicates, "a resubmission reuses its id"

    requests = sum(stats["requests"].values())
    assert sum(faults.values()) >= requests / 4
    retries = output.count("Kling request failed (attempt")
    airflow_retries = sum(ti.try_number - 1 for ti in tis.values())
    assert airflow_retries <= total // 5, "the hook's own retries should absorb almost every fault"
    print(
        f"\nchaos [{sandbox.profile}]: {total} task instances, {len(sandbox.tasks)} tasks created, "
        f"{duplicates} duplicates, {len(generated)} succeeded, {len(doomed)} failed with Kling's message; "
        f"{requests} requests ({requests / total:.1f} per generation), "
        f"{sum(faults.values())} faulted ({sum(faults.values()) / requests:.0%}): {dict(sorted(faults.items()))}; "
        f"{retries} retries inside the hook, {airflow_retries} Airflow retries"
    )
