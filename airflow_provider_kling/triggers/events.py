"""How a Kling trigger's wait ends: its one typed event, read the same way by the operator and the sensor, and when
the trigger may end the Airflow task itself (Airflow's end-from-trigger, from 3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from airflow_provider_kling.contract import task_status
from airflow_provider_kling.exceptions import KlingError, KlingPermanentError
from airflow_provider_kling.links.kling import KlingVideoLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context

    from airflow_provider_kling.hooks.kling import KlingHook


class KlingTaskEvent(TypedDict, total=False):
    """What :class:`~airflow_provider_kling.triggers.kling.KlingTaskTrigger` yields when its wait ends."""

    #: ``succeed`` or ``failed`` (the task ended), ``timeout`` (the deadline passed) or ``error``.
    status: str
    kling_task_id: str
    #: The last task object seen, or None.
    task: dict[str, Any] | None
    message: str
    #: For ``error``: whether an Airflow retry can help.
    retryable: bool


class KlingSlotEvent(TypedDict, total=False):
    """What :class:`~airflow_provider_kling.triggers.kling.KlingSlotTrigger` yields when its wait for a slot ends."""

    #: ``slot`` (one may be free: submit again), ``timeout`` (the deadline passed) or ``error``.
    status: str
    message: str
    #: For ``slot``: the task's deadline, how many times it was refused, and since when it waits (``time.time()``).
    deadline: float
    refusals: int
    waiting_since: float
    #: For ``error``: whether an Airflow retry can help.
    retryable: bool


def raise_for_event(event: KlingTaskEvent | KlingSlotEvent, *, timeout: type[Exception]) -> None:
    """
    Raise what a wait that ended in a ``timeout`` or an ``error`` means for the task; return for any other end.

    :param event: the trigger's event.
    :param timeout: what a timeout raises (the operator's ``KlingWaitTimeoutError``, the sensor's
        ``AirflowSensorTimeout``).
    """
    if event["status"] == "timeout":
        raise timeout(event["message"])
    if event["status"] == "error":
        raise (KlingError if event.get("retryable") else KlingPermanentError)(event["message"])


def end_from_trigger_xcoms(task: BaseOperator, context: Context) -> dict[str, str] | None:
    """
    Return, where nothing after a deferred task's wait needs a worker, the XComs its trigger sets when it ends the
    succeeded task itself (see :class:`~airflow_provider_kling.triggers.kling.KlingTaskTrigger`): the return value and
    the extra link's URL, as a worker would. None where a worker must resume the task: to emit Asset events; before
    Airflow 3.3, which has no task state store (the operator's submission record is then a Variable, which a worker
    drops; Airflow 2's triggers cannot set XComs at all); for listeners, such as OpenLineage's, which hear of a task's
    end on its worker (Airflow refuses to end a task from its trigger where there are any); where XComs go to a custom
    backend (a worker writes the link's XCom past it, to the metadata DB where the UI reads it; a trigger cannot) or are
    split by ``multiple_outputs``.

    :param task: the deferring operator or sensor, whose return value is the Kling task object.
    :param context: its running context.
    """
    from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, Asset, conf, get_listener_manager

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


def get_task_its_trigger_ended(hook: KlingHook, task_id: str, endpoint: str) -> dict[str, Any]:
    """
    Return the Kling task of an Airflow task that its trigger ended on the task's success and that a runner resumes
    all the same, with the bare end event ("success") and none of the XComs the trigger set: read again. A task that
    has not ended (its success no longer shown) raises a retryable
    :class:`~airflow_provider_kling.exceptions.KlingError`; an ended one is the caller's to judge.

    :param hook: the hook of the operator or sensor.
    :param task_id: the Kling task's id.
    :param endpoint: the endpoint it was submitted to.
    """
    task = hook.get_task(task_id, endpoint)
    status = task_status(task)
    if status is None or status.is_active:
        raise KlingError(f"Kling task {task_id} is {task.get('task_status')!r}, yet its trigger saw it succeed")
    return task
