"""Sensor that waits for a Kling task to end."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_kling._constants import DEFAULT_CONN_ID, DEFAULT_POLL_INTERVAL
from airflow_provider_kling.arguments import check_conn_id, check_flag, check_id, check_seconds
from airflow_provider_kling.contract import TaskStatus, endpoint_named, succeeded_result_urls, task_status
from airflow_provider_kling.exceptions import KlingError, KlingPermanentError, KlingTaskNotFoundError
from airflow_provider_kling.links.kling import KlingVideoLink

# What a task needs only when it runs (the hook, cost, the trigger) is imported in the methods that use it: DAG
# parsing need not pay for it (benchmarks/parse_cost.py).

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.triggers.events import KlingTaskEvent


class KlingTaskSensor(BaseSensorOperator):
    """
    Wait for a Kling video task to end; return its final task object as the XCom value.

    A task that ends ``failed`` fails the sensor with Kling's ``task_status_msg`` and no retry (the
    task cannot change). ``timeout``, ``soft_fail`` and ``mode`` behave as in any Airflow sensor.
    Deferred, the wait runs in the triggerer (:class:`~airflow_provider_kling.triggers.kling.KlingTaskTrigger`)
    and holds no worker slot; ``timeout`` is then an absolute deadline that a triggerer restart
    does not extend.

    :param kling_task_id: the Kling ``task_id`` to wait for (on Kling's own API, an ``external_task_id``
        also works; CometAPI knows tasks by ``task_id`` only). Templated,
        e.g. ``"{{ ti.xcom_pull('submit')['task_id'] }}"``.
    :param endpoint: the endpoint the task was submitted to: ``text2video`` (default), ``image2video``,
        ``multi-image2video``, ``video-extend``, ``omni-video``, ``effects``, ``lip-sync``, ``video-to-audio`` or
        ``text-to-audio`` (each is queried on its own route: the last two under ``/v1/audio/``).
    :param kling_conn_id: the Airflow connection of type ``kling``.
    :param deferrable: wait in the triggerer instead of a worker; default: Airflow's
        ``[operators] default_deferrable``. On Airflow 3.3 and later, a sensor that emits no Asset events ends in
        the triggerer when the video is ready, with the same XCom value and extra link: no worker starts again for
        it (unless listeners, such as OpenLineage's, a custom XCom backend or ``multiple_outputs`` need one).
    :param poke_interval: seconds between polls of the task, above 0.
    """

    template_fields: Sequence[str] = ("kling_task_id",)
    operator_extra_links = (KlingVideoLink(),)
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        kling_task_id: str,
        endpoint: str = "text2video",
        kling_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = DEFAULT_POLL_INTERVAL,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        check_seconds("poke_interval", self.poke_interval)
        self.kling_task_id = kling_task_id
        self.endpoint = endpoint_named(endpoint).name
        self.kling_conn_id = check_conn_id(kling_conn_id)
        self.deferrable = check_flag("deferrable", deferrable)
        self.kling_video_url: str | None = None

    @cached_property
    def hook(self) -> KlingHook:
        """The hook for ``kling_conn_id``."""
        # Imported here, as the trigger is: DAG parsing need not pay for the hook and its HTTP machinery.
        from airflow_provider_kling.hooks.kling import KlingHook

        return KlingHook(self.kling_conn_id)

    def _cost_tags(self) -> dict[str, str]:
        """The tags of the cost metrics of the task waited for: the sensor does not know its model and mode."""
        from airflow_provider_kling.cost import metric_tags

        return metric_tags(self.kling_conn_id, self.endpoint, "unknown", "unknown")

    def _done(self, context: Context, task: dict[str, Any], *, cost_reported: bool = False) -> bool:
        """
        Whether the Kling task ended well: a failure raises; a success reports its cost (unless its trigger
        ``cost_reported`` already) and sets the link.
        """
        from airflow_provider_kling._compat import remember_video_url
        from airflow_provider_kling.cost import UNITS_KEY, report_cost, units_charged

        status = task_status(task)
        if status is TaskStatus.FAILED:
            reason = task.get("task_status_msg") or "no reason given"
            raise KlingPermanentError(f"Kling task {self.kling_task_id} failed: {reason}")
        if status is not TaskStatus.SUCCEED:
            self.log.info("Kling task %s is %r", self.kling_task_id, task.get("task_status"))
            return False
        urls = succeeded_result_urls(task)
        self.log.info("Kling task %s ended %s; videos: %s", self.kling_task_id, status.value, ", ".join(urls))
        if cost_reported:
            task[UNITS_KEY] = units_charged(task)
        else:
            report_cost(task, self._cost_tags(), self.log)
        self.kling_video_url = urls[0]
        remember_video_url(context, urls[0])
        return True

    def poke(self, context: Context) -> PokeReturnValue:
        """Ask Kling for the task once."""
        try:
            task = self.hook.get_task(self.kling_task_id, self.endpoint)
        except KlingTaskNotFoundError:
            self.log.error(
                "Kling has no task %s on its %s route; a task submitted to another endpoint is read on that "
                "endpoint's: set the sensor's endpoint (image2video, multi-image2video, video-extend)",
                self.kling_task_id,
                self.endpoint,
            )
            raise
        return PokeReturnValue(is_done=self._done(context, task), xcom_value=task)

    def execute(self, context: Context) -> Any:
        """Poke from here, or (deferrable) hand the whole wait to the triggerer."""
        check_id("kling_task_id", self.kling_task_id, "a Kling task id or external_task_id")
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_kling.triggers.events import end_from_trigger_xcoms
        from airflow_provider_kling.triggers.kling import KlingTaskTrigger

        self.defer(
            trigger=KlingTaskTrigger(
                kling_task_id=self.kling_task_id,
                deadline=time.time() + self.timeout,
                kling_conn_id=self.kling_conn_id,
                poll_interval=self.poke_interval,
                endpoint=self.endpoint,
                end_with_xcoms=end_from_trigger_xcoms(self, context),
                cost_tags=self._cost_tags(),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: KlingTaskEvent | str) -> Any:
        """Turn the trigger's event into the sensor's result or failure."""
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        from airflow_provider_kling.triggers.events import get_task_its_trigger_ended, raise_for_event

        with contextlib.suppress(KlingError):
            self.hook.settings  # noqa: B018 - registers the key's every form with this process's masker first
        # The bare end event of a task its trigger ended (having reported its cost), resumed all the same.
        if isinstance(event, str):
            task = get_task_its_trigger_ended(self.hook, self.kling_task_id, self.endpoint)
        else:
            raise_for_event(event, timeout=AirflowSensorTimeout)
            task = event["task"] or {}
        self._done(context, task, cost_reported=isinstance(event, str))
        return task
