"""Chaos: 100 generations through the operator while about a third of all API requests fail."""

from __future__ import annotations

import os
import re
from collections import Counter

from conftest import connection_json
from test_operator import dagbag, run  # noqa: F401 - the dagbag fixture

from airflow_provider_kling.sandbox.server import FAIL_MESSAGE


def test_a_hundred_generations_under_faults_pay_once_each_and_lose_nothing(dagbag, sandbox, monkeypatch, capfd):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(sandbox, timeout=0.3))
    sandbox.render_seconds = 0.3
    sandbox.chaos_rate = 0.33
    sandbox._chaos.seed(int(os.environ.get("KLING_CHAOS_SEED", "20261124")))

    _dag_run, tis = run(dagbag, "kling_chaos")
    sandbox.chaos_rate = 0.0
    output = "".join(capfd.readouterr())

    generated = {key: ti for key, ti in tis.items() if key[0] == "generate"}
    doomed = {key: ti for key, ti in tis.items() if key[0] == "doomed"}
    assert len(generated) == 90 and len(doomed) == 10
    assert all(ti.state == "success" for ti in generated.values()), Counter(ti.state for ti in generated.values())
    assert all(ti.state == "failed" for ti in doomed.values())
    assert output.count(FAIL_MESSAGE) >= 10

    tasks_by_instance = Counter(re.sub(r"-\d+$", "", task.body["external_task_id"]) for task in sandbox.tasks.values())
    duplicates = sum(count - 1 for count in tasks_by_instance.values())
    assert len(tasks_by_instance) == 100
    assert duplicates == 0

    stats = sandbox.stats()
    faults = stats["faults_served"]
    requests = sum(stats["requests"].values())
    assert sum(faults.values()) >= requests / 4
    retries = output.count("Kling request failed (attempt")
    airflow_retries = sum(ti.try_number - 1 for ti in tis.values())
    print(
        f"\nchaos: {requests} requests, {sum(faults.values())} faulted ({sum(faults.values()) / requests:.0%}): "
        f"{dict(sorted(faults.items()))}; {retries} retries inside the hook, {airflow_retries} Airflow retries; "
        f"{len(sandbox.tasks)} tasks created for 100 task instances, {duplicates} duplicates; "
        f"90 succeeded, 10 failed with Kling's message"
    )
