"""What the tests reach differently on Airflow 2.11 and 3.x: DagBag, dag.test(), XCom, Asset (Dataset) events."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS


def load_dags(folder: str) -> Any:
    """A DagBag of the DAG files in ``folder``."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # before 3.1
        from airflow.models.dagbag import DagBag

    return DagBag(folder)


def share_in_process_execution_api() -> None:
    """
    One in-process execution API for every ``dag.test()`` of the session, as Airflow 3.3 has it.

    Before 3.3 (apache/airflow#65235, #68840), ``dag.test()`` builds a new FastAPI app per task, with
    an event-loop thread that is never stopped: slow (seconds per task on 3.0), and after a few dozen
    tasks in one process a request can wait forever on one of those loops (seen on 3.1.8 and 3.2.2).
    """
    if not AIRFLOW_V_3_0_PLUS:
        return
    import functools

    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


def run_dag(dag: Any, day: Any = None, run_conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()``, on ``day`` (a logical date, also the run-after time) if given; returns the DAG run."""
    if not AIRFLOW_V_3_0_PLUS:  # Airflow 3's dag.test() stores the DAG (and its assets); Airflow 2's leaves it
        dag.sync_to_db()
    if day is None:
        return dag.test(run_conf=run_conf)
    if AIRFLOW_V_3_0_PLUS:
        return dag.test(logical_date=day, run_after=day, run_conf=run_conf)
    # Deleting an earlier run of that date resolves dag_run_note's key to FAB's user table: load its model.
    import airflow.providers.fab.auth_manager.models  # noqa: F401

    return dag.test(execution_date=day, run_conf=run_conf)


def xcom_value(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """The value a task instance of ``dag_run`` pushed under ``key``, or None."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if not AIRFLOW_V_3_0_PLUS:
        from airflow.models.xcom import XCom

        return XCom.get_one(key=key, dag_id=dag_run.dag_id, task_id=task_id, run_id=dag_run.run_id, map_index=map_index)
    from airflow.models.xcom import XComModel

    with create_session() as session:
        return session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == dag_run.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.task_id == task_id,
                XComModel.map_index == map_index,
                XComModel.key == key,
            )
        )


def asset_event_extras(uri: str, run_id: str) -> list[dict[str, Any]]:
    """The ``extra`` of every event of the asset (dataset, on Airflow 2) at ``uri`` that the run ``run_id`` made."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        link = Event.asset_id == Model.id
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        link = Event.dataset_id == Model.id
    with create_session() as session:
        events = session.scalars(select(Event).join(Model, link).where(Model.uri == uri, Event.source_run_id == run_id))
        return [event.extra for event in events]


def extra_link(dag: Any, dag_run: Any, task_id: str, name: str = "Kling video", map_index: int = -1) -> str | None:
    """
    The extra link the UI shows for a task instance: Airflow 3 shows what the worker stored when the
    task ended; Airflow 2's webserver asks the link of the serialized DAG's operator.
    """
    if AIRFLOW_V_3_0_PLUS:
        return xcom_value(dag_run, task_id, f"_link_{name.title().replace(' ', '')}Link", map_index)
    from airflow.serialization.serialized_objects import SerializedDAG

    served = SerializedDAG.from_dict(SerializedDAG.to_dict(dag)).get_task(task_id)
    return served.get_extra_links(dag_run.get_task_instance(task_id, map_index=map_index), name)


def deferred_to(dag_run: Any, task_id: str, logs: str) -> str | None:
    """
    The trigger a task instance of ``dag_run`` deferred to (its class path), or None if it never deferred.

    Airflow 3's ``dag.test()`` stores the trigger and keeps the task instance's link to it. Airflow 2's
    runs the trigger in line without storing it or the deferral: there the evidence is its own log
    (``logs``), where a step after running the task is running a trigger.
    """
    if not AIRFLOW_V_3_0_PLUS:
        ran = logs.split(f"[DAG TEST] running task <TaskInstance: {dag_run.dag_id}.{task_id} {dag_run.run_id} ")
        deferred = any(
            "".join(after.split("[DAG TEST] ")[1:2]).startswith("running trigger in line") for after in ran[1:]
        )
        return "deferred (Airflow 2 names no trigger)" if deferred else None
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    ti = dag_run.get_task_instance(task_id)
    if ti.trigger_id is None:
        return None
    with create_session() as session:
        return session.scalar(select(Trigger.classpath).where(Trigger.id == ti.trigger_id))


def run(dagbag: Any, dag_id: str, day: Any = None, run_conf: dict[str, Any] | None = None) -> Any:
    """Run one DAG of ``dagbag`` with dag.test(), on ``day`` if given; return it and {(task_id, map_index): ti}."""
    dag_run = run_dag(dagbag.dags[dag_id], day, run_conf)
    return dag_run, {(ti.task_id, ti.map_index): ti for ti in dag_run.get_task_instances()}


xcom = xcom_value
