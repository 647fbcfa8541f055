"""
What differs between Airflow 2.11 and 3.x that ``apache-airflow-providers-common-compat`` does not bridge.

Everything else (base classes, ``ObjectStoragePath``, ``Asset``, ``conf``, exceptions, masking) comes
from :mod:`airflow.providers.common.compat.sdk`, as in the official providers. This module adds:

- :class:`SubmissionStore`: where the operator records its submission across tries. Airflow 3.3's
  task state store; before 3.3, an Airflow Variable per task instance, removed once the task has
  its result.
- :func:`remember_video_url` and :func:`stored_video_url`: the extra link's URL. Airflow 3 asks the
  link on the worker when the task ends; Airflow 2 asks it in the webserver, from an XCom.
- :func:`xcoms_the_trigger_sets`: whether a deferred task's trigger may end it (Airflow 3.3's end-from-trigger), and
  :func:`task_its_trigger_ended`: the Kling task of one that is resumed all the same.
- :func:`amask_secret`: masking from a trigger without blocking the triggerer's event loop.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context, TaskInstanceKey

    from airflow_provider_kling.hooks.kling import KlingHook

#: The XCom key under which, on Airflow 2, the operator and the sensor leave the link's URL.
VIDEO_URL_XCOM_KEY = "kling_video_url"


class SubmissionStore:
    """
    A task instance's record of its submission, kept across its tries.

    :param context: the running task's context.
    :param scope: a name unique to the task instance (dag, task, run and map index), for the
        Airflow Variable that holds the record where Airflow has no task state store.
    """

    def __init__(self, context: Context, scope: str) -> None:
        self._store = context.get("task_state_store")
        self._scope = scope
        ti = context["ti"]
        #: Shown beside the Variable in the UI (Airflow < 3.3).
        self._description = (
            f"Kling submission of task {ti.task_id} (map index {ti.map_index}) of DAG {ti.dag_id}, run {ti.run_id}: "
            "kept across the task's tries, removed when it has its result"
        )

    def _variable_name(self, key: str) -> str:
        return f"{key}.{self._scope}"

    def get(self, key: str) -> dict[str, Any]:
        """
        The record under ``key``, or an empty dict when there is none. Anything else there is not a record of
        ours: whether an earlier try paid for a generation cannot be told, so it fails the task.
        """
        if self._store is not None:
            record = self._store.get(key)
        else:
            from airflow.providers.common.compat.sdk import Variable

            record = json.loads(Variable.get(self._variable_name(key), "{}"))
        if record is None:
            return {}
        if not isinstance(record, dict):
            from airflow_provider_kling.exceptions import KlingSubmissionUnknownError

            raise KlingSubmissionUnknownError(
                f"The task's {key!r} record holds {type(record).__name__}, not the operator's record: whether an "
                "earlier try created a Kling task cannot be told, so nothing was submitted. Remove the record "
                "(the task state store, or the Airflow Variable before 3.3) to submit anew"
            )
        return record

    def set(self, key: str, record: dict[str, Any]) -> None:
        """Write the record under ``key``."""
        if self._store is not None:
            self._store.set(key, record)
            return
        from airflow.providers.common.compat.sdk import Variable

        Variable.set(self._variable_name(key), json.dumps(record), description=self._description)

    def finish(self, key: str) -> None:
        """
        The task has its result: drop a record kept in a Variable, so that none piles up.

        The task state store keeps it instead: it goes with its DAG run or its retention.
        """
        if self._store is not None:
            return
        from airflow.providers.common.compat.sdk import Variable

        Variable.delete(self._variable_name(key))


def remember_video_url(context: Context, url: str) -> None:
    """Leave the link's URL where Airflow 2's webserver reads it (Airflow 3 asks the operator itself)."""
    if not AIRFLOW_V_3_0_PLUS:
        context["ti"].xcom_push(key=VIDEO_URL_XCOM_KEY, value=url)


def stored_video_url(ti_key: TaskInstanceKey) -> str | None:
    """The URL :func:`remember_video_url` left for a task instance on Airflow 2, if any."""
    if AIRFLOW_V_3_0_PLUS:
        return None
    from airflow.models.xcom import XCom

    url = XCom.get_value(ti_key=ti_key, key=VIDEO_URL_XCOM_KEY)
    return url if isinstance(url, str) else None


def xcoms_the_trigger_sets(task: BaseOperator, context: Context) -> dict[str, str] | None:
    """
    Where nothing after a deferred task's wait needs a worker, the XComs its trigger sets when it ends the succeeded
    task itself (see :class:`~airflow_provider_kling.triggers.kling.KlingTaskTrigger`): the return value and the
    extra link's URL, as a worker would. None where a worker must resume the task: to emit Asset events; before
    Airflow 3.3, which has no task state store (the operator's submission record is then a Variable, which a worker
    drops; Airflow 2's triggers cannot set XComs at all); for listeners, such as OpenLineage's, which hear of a task's
    end on its worker (Airflow refuses to end a task from its trigger where there are any); where XComs go to a
    custom backend (a worker writes the link's XCom past it, to the metadata DB where the UI reads it; a trigger
    cannot) or are split by ``multiple_outputs``.

    :param task: the deferring operator or sensor, whose return value is the Kling task object.
    :param context: its running context.
    """
    from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, Asset, conf, get_listener_manager

    from airflow_provider_kling.links.kling import KlingVideoLink

    if (
        not AIRFLOW_V_3_0_PLUS
        or any(isinstance(outlet, Asset) for outlet in task.outlets)
        or context.get("task_state_store") is None
        or get_listener_manager().has_listeners
        or conf.get("core", "xcom_backend") != conf.get_default_value("core", "xcom_backend")
        or getattr(task, "multiple_outputs", False)
    ):
        return None
    xcoms = {KlingVideoLink().xcom_key: "video_url"}
    return {XCOM_RETURN_KEY: "task", **xcoms} if task.do_xcom_push else xcoms


def task_its_trigger_ended(hook: KlingHook, task_id: str, endpoint: str) -> dict[str, Any]:
    """
    The Kling task of an Airflow task that its trigger ended on the task's success and that a runner resumes all the
    same, with the bare end event ("success") and none of the XComs the trigger set: read again. A task that has not
    ended (its success no longer shown) raises a retryable
    :class:`~airflow_provider_kling.exceptions.KlingError`; an ended one is the caller's to judge.

    :param hook: the hook of the operator or sensor.
    :param task_id: the Kling task's id.
    :param endpoint: the endpoint it was submitted to.
    """
    from airflow_provider_kling.contract import task_status
    from airflow_provider_kling.exceptions import KlingError

    task = hook.get_task(task_id, endpoint)
    status = task_status(task)
    if status is None or status.is_active:
        raise KlingError(f"Kling task {task_id} is {task.get('task_status')!r}, yet its trigger saw it succeed")
    return task


async def amask_secret(secret: str) -> None:
    """Mask ``secret`` in logs from a coroutine; before Airflow 3.3 the synchronous call runs in a thread."""
    try:
        from airflow.sdk.log import amask_secret as mask_asynchronously
    except ImportError:
        from airflow.providers.common.compat.sdk import mask_secret
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(secret)
    else:
        await mask_asynchronously(secret)
