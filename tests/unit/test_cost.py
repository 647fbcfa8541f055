"""
Fast: what each generation cost, where users look: the task log, the XCom value, and Airflow's metrics, which
reach a StatsD server on loopback through Airflow's own Stats machinery (as a task runner configures it).
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS
from support.task_context import TASK_INSTANCE, task_context

from airflow_provider_kling.cost import UNKNOWN, units_charged
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor


@pytest.mark.parametrize(
    ("reported", "units"),
    [
        ("1", "1"),
        ("0.4", "0.4"),
        (" 2 ", "2"),
        (3, "3"),
        (1.5, "1.5"),
        ("0", "0"),
        (None, UNKNOWN),
        ("", UNKNOWN),
        ("a lot", UNKNOWN),
        ("-1", UNKNOWN),
        ("nan", UNKNOWN),
        ("inf", UNKNOWN),
        (True, UNKNOWN),
        ({"units": 1}, UNKNOWN),
    ],
)
def test_the_units_charged_are_what_kling_reported_or_unknown_never_a_guess(reported, units):
    task = {"task_id": "1"} if reported is None else {"task_id": "1", "final_unit_deduction": reported}
    assert units_charged(task) == units


@contextlib.contextmanager
def statsd_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """
    A StatsD server on loopback that keeps every metric line it receives, with Airflow's Stats sending to it (tags
    in InfluxDB's form, ``name,tag=value``), configured as Airflow's task runner and triggerer do.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    for option, value in {
        "STATSD_ON": "True",
        "STATSD_HOST": "127.0.0.1",
        "STATSD_PORT": str(server.getsockname()[1]),
        "STATSD_PREFIX": "airflow",
        "STATSD_INFLUXDB_ENABLED": "True",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__METRICS__{option}", value)
    received: list[str] = []
    _use_statsd(True)
    try:
        yield received
    finally:
        _use_statsd(False)
        with contextlib.suppress(TimeoutError):
            while True:
                received.extend(server.recv(65536).decode().splitlines())
        server.close()


def _use_statsd(on: bool) -> None:
    try:
        from airflow.sdk.observability import stats
        from airflow.sdk.observability.metrics import stats_utils
    except ImportError:  # before 3.1: one Stats class, whose factory Airflow picks when it is first used
        from airflow.metrics import statsd_logger
        from airflow.metrics.base_stats_logger import NoStatsLogger
        from airflow.stats import Stats

        type(Stats).factory = statsd_logger.get_statsd_logger if on else NoStatsLogger
        Stats.instance = None  # the logger made on first use, kept on the class: made again from the factory
    else:
        factory = stats_utils.get_stats_factory() if on else stats_utils.NoStatsLogger
        stats.initialize(factory=factory, export_legacy_names=False)


def _metrics(received: list[str]) -> list[tuple[str, dict[str, str], float, str]]:
    """The metric lines received, as (name, tags, value, type)."""
    parsed = []
    for line in received:
        name_and_tags, value, kind = re.fullmatch(r"([^:]+):([^|]+)\|(\w+)", line).groups()
        name, *tags = name_and_tags.split(",")
        parsed.append((name, dict(tag.split("=", 1) for tag in tags), float(value), kind))
    return parsed


TAGS = {"conn_id": "kling_default", "endpoint": "text2video", "model": "kling-v3", "mode": "pro"}


def test_a_succeeded_generation_reports_its_units_in_the_log_the_xcom_and_the_metrics(
    sandbox, monkeypatch, caplog, capfd
):
    sandbox.render_seconds = 0.1
    sandbox.units = "2.5"
    operator = KlingText2VideoOperator(
        task_id="generate", prompt="a fox", model_name="kling-v3", mode="pro", poll_interval=0.05
    )
    with statsd_server(monkeypatch) as received:
        task = operator.execute(task_context())
    assert task["units_charged"] == "2.5" and task["final_unit_deduction"] == "2.5"
    assert f"Kling task {task['task_id']}: 2.5 units charged" in caplog.text + capfd.readouterr().out
    assert _metrics(received) == [
        ("airflow.kling.units_charged", TAGS, 2.5, "c"),
        ("airflow.kling.generations", {**TAGS, "cost": "reported"}, 1.0, "c"),
    ]


def test_a_generation_whose_cost_the_service_does_not_report_is_unknown(sandbox, monkeypatch, caplog, capfd):
    sandbox.render_seconds = 0.1
    sandbox.units = None
    operator = KlingText2VideoOperator(task_id="generate", prompt="a fox", poll_interval=0.05)
    with statsd_server(monkeypatch) as received:
        task = operator.execute(task_context())
    assert task["units_charged"] == "unknown" and "final_unit_deduction" not in task
    assert (
        f"Kling task {task['task_id']}: units charged unknown (the service reported no final_unit_deduction)"
        in caplog.text + capfd.readouterr().out
    )
    tags = {"conn_id": "kling_default", "endpoint": "text2video", "model": "default", "mode": "default"}
    assert _metrics(received) == [("airflow.kling.generations", {**tags, "cost": "unknown"}, 1.0, "c")]


def test_a_generation_that_failed_or_is_only_submitted_reports_no_cost(cometapi_sandbox, monkeypatch):
    operator = KlingText2VideoOperator(task_id="generate", prompt="a fox", wait_for_completion=False)
    with statsd_server(monkeypatch) as received:
        task = operator.execute(task_context())
    assert "units_charged" not in task and not [line for line in received if "kling." in line]


def test_a_sensor_reports_the_cost_of_the_task_it_waited_for(sandbox, monkeypatch):
    from airflow_provider_kling.hooks.kling import KlingHook

    sandbox.render_seconds = 0
    submitted = KlingHook().create_task("image2video", image="https://images.example/still.png")
    sensor = KlingTaskSensor(task_id="wait", kling_task_id=submitted["task_id"], endpoint="image2video")
    with statsd_server(monkeypatch) as received:
        assert sensor.poke(task_context()).xcom_value["units_charged"] == "1"
    tags = {"conn_id": "kling_default", "endpoint": "image2video", "model": "unknown", "mode": "unknown"}
    assert _metrics(received) == [
        ("airflow.kling.units_charged", tags, 1.0, "c"),
        ("airflow.kling.generations", {**tags, "cost": "reported"}, 1.0, "c"),
    ]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 2's triggers never end a task: a worker reports the cost")
def test_a_trigger_that_ends_the_task_itself_reports_the_cost_once(cometapi_sandbox, monkeypatch):
    import asyncio
    import time
    from types import SimpleNamespace

    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

    cometapi_sandbox.render_seconds = 0
    task_id = KlingHook().create_text2video("a fox")["task_id"]
    trigger = KlingTaskTrigger(
        task_id, time.time() + 10, poll_interval=0.05, end_with_xcoms={"return_value": "task"}, cost_tags=TAGS
    )
    set_values = {}

    async def set_xcoms(values):
        set_values.update(values)
        return True

    trigger.task_instance = SimpleNamespace(**TASK_INSTANCE)
    monkeypatch.setattr(trigger, "_set_xcoms", set_xcoms)

    async def events():
        return [event async for event in trigger.run()]

    with statsd_server(monkeypatch) as received:
        asyncio.run(events())
    assert set_values["task"]["units_charged"] == "1"
    assert _metrics(received) == [
        ("airflow.kling.units_charged", TAGS, 1.0, "c"),
        ("airflow.kling.generations", {**TAGS, "cost": "reported"}, 1.0, "c"),
    ]
