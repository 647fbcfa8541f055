"""Triggers that wait in the triggerer: for one Kling task to end, polling with the async hook, and for a free slot
on the account."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_kling.contract import TaskStatus, succeeded_result_urls, task_status
from airflow_provider_kling.cost import UNITS_KEY, report_cost, units_charged
from airflow_provider_kling.exceptions import KlingError, KlingWaitTimeoutError
from airflow_provider_kling.triggers.events import KlingSlotEvent, KlingTaskEvent

#: The shares of ``poll_interval`` between a wait's later polls, drawn uniformly: never more than the
#: interval, so that a task's end is seen within one ``poll_interval`` of it, as with fixed polls; about 5%
#: more polls than fixed ones on average, for waits whose polls drift apart instead of staying in step.
POLL_INTERVAL_SHARES = (0.9, 1.0)
#: The shares of the shortest render learned for a kind of generation after which a wait's first poll comes:
#: waits for generations submitted together spread over a tenth of it.
SHORTEST_RENDER_SHARES = (0.9, 1.0)
#: The random source of every wait's poll times (tests seed it).
poll_jitter = random.Random()


def _share(shares: tuple[float, float]) -> float:
    low, high = shares
    return low + (high - low) * poll_jitter.random()


def poll_delay(poll_interval: float, *, first: bool) -> float:
    """
    Seconds to sleep before a wait's next poll: the first comes after a random share of ``poll_interval``
    (waits started together, as after a triggerer restart, spread over one interval instead of
    polling as a herd), each later one after a random share within :data:`POLL_INTERVAL_SHARES`.

    :param poll_interval: the wait's poll interval, in seconds.
    :param first: whether the wait has not polled yet.
    """
    return poll_interval * _share((0.0, 1.0) if first else POLL_INTERVAL_SHARES)


class RenderTimes:
    """
    How long the latest renders of each kind of generation took, as this process (a triggerer) saw them, so that
    waits skip the polls that come before the shortest of them: renders take minutes, and a poll then finds
    nothing new.

    A render is remembered by a lower bound of its length: from the wait's start to the last poll that found it
    under way. One that had already ended at the wait's first poll is remembered as 0 seconds: renders of its kind
    may have got shorter than what was learned, so the next waits poll from the start again until the 0 has
    left the window.

    :param window: how many of the latest renders of a kind are remembered.
    :param needed: how many renders of a kind must be remembered before any poll is skipped.
    """

    def __init__(self, window: int = 100, needed: int = 5) -> None:
        self.window = window
        self.needed = needed
        self._seconds: dict[str, deque[float]] = {}

    def shortest(self, kind: str) -> float:
        """The shortest render remembered for ``kind``, in seconds; 0 until ``needed`` renders are remembered."""
        seen = self._seconds.get(kind, ())
        return min(seen) if len(seen) >= self.needed else 0.0

    def remember(self, kind: str, seconds: float) -> None:
        """Remember one render of ``kind`` that lasted at least ``seconds``."""
        self._seconds.setdefault(kind, deque(maxlen=self.window)).append(max(0.0, seconds))


#: The renders this process has seen; the triggerer's waits learn from each other.
render_times = RenderTimes()


class KlingTaskTrigger(BaseTrigger):
    """
    Poll one Kling task until it ends, then yield exactly one event.

    The event's payload is a dict with ``status`` (``succeed``, ``failed``, ``timeout`` or
    ``error``), ``kling_task_id``, ``task`` (the last task object seen, or None), ``message`` and,
    for errors, ``retryable``. Transient HTTP failures are retried within the hook's budget; one
    HTTP client serves every poll. All state is in the serialized kwargs, and ``deadline`` is an
    absolute time, so a triggerer restart resumes the wait without extending it.

    :param kling_task_id: the Kling task to wait for.
    :param deadline: when to give up, as seconds since the epoch (``time.time()``).
    :param kling_conn_id: the Airflow connection of type ``kling``.
    :param poll_interval: the most seconds between polls: the first comes after a random share of it, the
        others after 90% to 100% of it (see :func:`poll_delay`), so that waits started together spread out.
    :param started_at: when the wait began (seconds since the epoch), for elapsed times in logs.
    :param endpoint: the endpoint the task was submitted to (``text2video``, ``image2video``...): it is
        queried there.
    :param render_kind: for a task submitted when the wait began, what kind of generation it is (connection,
        endpoint, model, mode, length): once the triggerer has seen renders of that kind, the first poll comes
        only after 90% to 100% of the shortest (see :class:`RenderTimes`), and every later one within
        ``poll_interval`` as usual. None (a task submitted earlier): polls from the start.
    :param end_with_xcoms: for a wait that nothing after it needs a worker for: when the task succeeds, the trigger
        ends the Airflow task itself (Airflow's end-from-trigger: no worker resumes it), having set these XComs,
        each key mapped to what it holds: ``task`` (the task object) or ``video_url`` (its first video's URL).
        Failures, timeouts and errors still resume the task on a worker, which fails it, retrying where a retry can
        help; so does a success where the XComs cannot be set from here. None (default): every end resumes the task.
    :param cost_tags: the tags of the generation's cost metrics (see :func:`~airflow_provider_kling.cost.metric_tags`),
        reported here when the trigger ends the task itself (a worker that resumes it reports them otherwise).
    """

    def __init__(
        self,
        kling_task_id: str,
        deadline: float,
        kling_conn_id: str = "kling_default",
        poll_interval: float = 10.0,
        started_at: float | None = None,
        endpoint: str = "text2video",
        render_kind: str | None = None,
        end_with_xcoms: dict[str, str] | None = None,
        cost_tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's, untyped (untyped_calls_exclude misses super())
        self.kling_task_id = kling_task_id
        self.deadline = deadline
        self.kling_conn_id = kling_conn_id
        self.poll_interval = poll_interval
        self.started_at = time.time() if started_at is None else started_at
        self.endpoint = endpoint
        self.render_kind = render_kind
        self.end_with_xcoms = end_with_xcoms
        self.cost_tags = cost_tags

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the kwargs that recreate this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kling_task_id": self.kling_task_id,
                "deadline": self.deadline,
                "kling_conn_id": self.kling_conn_id,
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
                "endpoint": self.endpoint,
                "render_kind": self.render_kind,
                "end_with_xcoms": self.end_with_xcoms,
                "cost_tags": self.cost_tags,
            },
        )

    def _event(self, status: str, message: str, task: dict[str, Any] | None, **extra: Any) -> TriggerEvent:
        event: KlingTaskEvent = {
            "status": status,
            "kling_task_id": self.kling_task_id,
            "task": task,
            "message": message,
            **extra,  # type: ignore[typeddict-item]
        }
        return TriggerEvent(event)

    def _timed_out(self, task: dict[str, Any] | None, status: str) -> TriggerEvent:
        elapsed = time.time() - self.started_at
        return self._event(
            "timeout",
            f"Kling task {self.kling_task_id} did not end within the timeout: waited {elapsed:.0f} s, "
            f"last status {status!r}",
            task,
        )

    async def _set_xcoms(self, values: dict[str, Any]) -> bool:
        """
        Set ``end_with_xcoms`` from ``values`` as the task's worker would, through the triggerer (Airflow 3.3 writes
        the XComs of an end event itself JSON-encoded twice: downstream tasks would read text). False where this
        runner gives the trigger no task instance (``dag.test()``) or the XComs could not be set: then a worker
        resumes the task and sets them.
        """
        ti = self.task_instance
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time.xcom import XCom

            for key, what in (self.end_with_xcoms or {}).items():
                await XCom.aset(
                    key, values[what], dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index
                )
        except Exception:  # whatever the triggerer's channel raises: the worker can still do it
            self.log.exception("Could not set the task's XComs from the trigger: a worker resumes the task instead")
            return False
        return True

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the task ends or the deadline passes; yield one event."""
        # Imported here: a DAG file that names the trigger need not pay for the hook and the account's queues.
        from airflow_provider_kling.concurrency import slot_queues
        from airflow_provider_kling.hooks.kling import KlingAsyncHook

        # The deadline bounds each request, the hook's retries and their pauses, not only the polls between.
        hook = KlingAsyncHook(self.kling_conn_id, deadline=self.deadline)
        task: dict[str, Any] | None = None
        last_status = "unknown"
        pause = poll_delay(self.poll_interval, first=True)
        shortest = render_times.shortest(self.render_kind) if self.render_kind else 0.0
        if shortest:
            pause = max(pause, self.started_at + shortest * _share(SHORTEST_RENDER_SHARES) - time.time())
        under_way_at = self.started_at  # when the last poll that found the task under way was sent
        try:
            while True:
                # Never past the deadline: a poll at it finds it passed and ends the wait with a timeout.
                await asyncio.sleep(min(pause, max(0.0, self.deadline - time.time())))
                sent_at = time.time()
                try:
                    task = await hook.get_task(self.kling_task_id, self.endpoint)
                    known = task_status(task)
                    urls = succeeded_result_urls(task) if known is TaskStatus.SUCCEED else []
                except KlingWaitTimeoutError:
                    yield self._timed_out(task, last_status)
                    return
                except KlingError as error:
                    yield self._event("error", str(error), task, retryable=error.retryable)
                    return
                status = known.value if known else f"{task.get('task_status')!r} (unexpected: waiting on)"
                elapsed = time.time() - self.started_at
                if status != last_status:
                    self.log.info("Kling task %s is %s after %.0f s", self.kling_task_id, status, elapsed)
                    last_status = status
                if known is not None and known.is_active:
                    under_way_at = sent_at
                if known is not None and not known.is_active:
                    # Its slot on the account is free: a wait for one in this triggerer may submit.
                    slot_queues.task_ended((await hook.get_settings()).account)
                    if known is TaskStatus.SUCCEED and self.render_kind:
                        render_times.remember(self.render_kind, under_way_at - self.started_at)
                    message = f"Kling task {self.kling_task_id} ended {status} after {elapsed:.0f} s"
                    if urls:
                        message += f"; videos: {', '.join(urls)}"
                    if urls and self.end_with_xcoms:
                        task = {**task, UNITS_KEY: units_charged(task)}
                        if await self._set_xcoms({"task": task, "video_url": urls[0]}):
                            self.log.info("%s: the Airflow task ends here, with no worker to resume it", message)
                            report_cost(task, self.cost_tags or {}, self.log)
                            yield TaskSuccessEvent()
                            return
                    yield self._event(status, message, task)
                    return
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    yield self._timed_out(task, status)
                    return
                pause = poll_delay(self.poll_interval, first=False)
        finally:
            await hook.close()


#: How often a wait for a free slot logs that it is still waiting, in seconds.
SLOT_WAIT_LOG_INTERVAL = 60.0


class KlingSlotTrigger(BaseTrigger):
    """
    Wait for a free slot on the Kling account, then yield exactly one event, for the operator to submit again.

    The wait joins the account's :class:`~airflow_provider_kling.concurrency.SlotQueue` in this triggerer,
    at the place ``waiting_since`` gives it, and is released when a task of the account that this triggerer
    polls ends, or to try when none has ended for a while. It sends no request: the operator submits, on a
    worker, with everything that keeps a generation from being paid for twice. All state is in the
    serialized kwargs, so a triggerer restart puts the wait back at its place.

    The event's payload is a dict with ``status`` (``slot``, ``timeout`` or ``error``), ``message``, and, for
    ``slot``, ``deadline``, ``refusals`` and ``waiting_since`` as given (the operator carries them on).

    :param kling_conn_id: the Airflow connection of type ``kling``.
    :param deadline: when to give up, as seconds since the epoch (``time.time()``): the task's timeout.
    :param waiting_since: when the generation was first refused for the account's concurrency (seconds since the
        epoch): its place in the queue, and the time it has waited.
    :param refusals: how many times its submission has been refused so far.
    """

    def __init__(self, kling_conn_id: str, deadline: float, waiting_since: float, refusals: int = 1) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's, untyped (untyped_calls_exclude misses super())
        self.kling_conn_id = kling_conn_id
        self.deadline = deadline
        self.waiting_since = waiting_since
        self.refusals = refusals

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the kwargs that recreate this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kling_conn_id": self.kling_conn_id,
                "deadline": self.deadline,
                "waiting_since": self.waiting_since,
                "refusals": self.refusals,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait in the account's queue until released or past the deadline; yield one event."""
        from airflow_provider_kling.concurrency import slot_queues
        from airflow_provider_kling.hooks.kling import KlingAsyncHook

        try:
            settings = await KlingAsyncHook(self.kling_conn_id).get_settings()
        except KlingError as error:
            failed: KlingSlotEvent = {"status": "error", "message": str(error), "retryable": error.retryable}
            yield TriggerEvent(failed)
            return
        queue = slot_queues.of(settings.account, settings.retry_delay)
        released = queue.join(self.waiting_since)
        try:
            while not released.done():
                remaining = self.deadline - time.time()
                waited = time.time() - self.waiting_since
                if remaining <= 0:
                    timed_out: KlingSlotEvent = {
                        "status": "timeout",
                        "message": f"No free slot on the Kling account within the task's timeout: waited "
                        f"{waited:.0f} s, refused {self.refusals} times for the account's concurrency",
                    }
                    yield TriggerEvent(timed_out)
                    return
                self.log.info(
                    "Waiting for a free slot on the Kling account (its concurrency is full; refused %d times): "
                    "%.0f s so far, %d waits ahead in this triggerer",
                    self.refusals,
                    waited,
                    queue.ahead_of(released),
                )
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(released), min(SLOT_WAIT_LOG_INTERVAL, remaining))
        finally:
            released.cancel()  # a wait cancelled before its release gives its place up
        waited = time.time() - self.waiting_since
        slot: KlingSlotEvent = {
            "status": "slot",
            "message": f"A slot may be free on the Kling account ({released.result()}): submitting again after "
            f"{waited:.0f} s of waiting",
            "deadline": self.deadline,
            "refusals": self.refusals,
            "waiting_since": self.waiting_since,
        }
        yield TriggerEvent(slot)
