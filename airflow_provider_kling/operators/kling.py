"""The core every Kling video operator shares (safe to retry, waits blocking or deferred), and text-to-video."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_kling._constants import (
    DEFAULT_CONN_ID,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    UNKNOWN_SUBMISSION_POLICIES,
)
from airflow_provider_kling.arguments import check_choice, check_conn_id, check_flag, check_seconds
from airflow_provider_kling.contract import (
    TaskStatus,
    audio_url,
    check_camera_control,
    check_cfg_scale,
    check_watermark_info,
    endpoint_named,
    is_account_busy,
    loggable_body,
    split_request_fields,
    succeeded_result_urls,
    task_audios,
    task_status,
    task_videos,
)
from airflow_provider_kling.exceptions import (
    KlingError,
    KlingNoFreeSlotError,
    KlingTaskFailedError,
    KlingTaskNotFoundError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.links.kling import KlingVideoLink

# What a task needs only when it runs (the hook, submission records, storage, cost, the triggers) is imported in the
# methods that use it: DAG parsing, which imports this module for every DAG file that names the operator, need not
# pay for it (benchmarks/parse_cost.py).

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.lineage import VideoLineage
    from airflow_provider_kling.submission import SubmissionStore
    from airflow_provider_kling.triggers.events import KlingSlotEvent, KlingTaskEvent


class KlingVideoOperator(BaseOperator):
    """
    Submit a Kling video task, wait for it, and return the final task object: the core of every Kling operator.

    A subclass declares its ``endpoint`` (a name in :data:`~airflow_provider_kling.contract.ENDPOINTS`)
    and keeps each of that endpoint's request fields in an attribute of the same name; everything
    else (validation before anything is paid for, retry safety, waiting, storing videos, Asset
    events, the extra link) is here.

    The XCom return value is Kling's task object (``task_id``, ``task_status``, ``task_result``
    with ``videos[].url`` and ``videos[].id``, and ``units_charged``: see :mod:`~airflow_provider_kling.cost`); with
    ``wait_for_completion=False`` it is the submitted task, for a
    :class:`~airflow_provider_kling.sensors.kling.KlingTaskSensor` to wait on.

    **Never paid twice.** A first try sends one request, the submission. Where the endpoint takes
    one, each generation carries an ``external_task_id`` derived from the task instance (dag, task,
    run, map index) unless you give one. The operator records its submission before sending it, and
    the Kling ``task_id`` after: in the task state store (Airflow 3.3+), or else in an Airflow
    Variable that is removed once the task has its result. A retried, restarted or re-run task
    instance reads its earlier generation by that ``task_id``: one still rendering is waited for,
    one that succeeded is returned, and only after a failed one is a new one submitted (``<id>-2``,
    ``<id>-3``...). If the earlier try never learnt its ``task_id`` (the answer was lost, or the
    worker died right after submitting), Kling's own API is asked by ``external_task_id``; CometAPI
    (or an endpoint without ``external_task_id``) cannot be asked, and ``on_unknown_submission``
    decides. This also covers the window that Airflow's ``ResumableJobMixin`` documents as a known
    limitation (between the submission and the record).

    Every field is validated before anything is sent. Kling has no cancel call: a generation keeps
    rendering (and is paid for) when the Airflow task is killed or times out; the next try of the
    same task instance picks it up instead of paying again.

    Any ``Asset`` in ``outlets`` gets an event whose ``extra`` holds ``kling_task_id``,
    ``video_urls`` and ``stored_paths``, so downstream DAGs can be scheduled on new videos.

    :param callback_url: an https URL (http only for localhost) that Kling POSTs status updates to. Templated.
    :param external_task_id: your own id for the first generation (unique per account), at most 120 characters (a
        later generation adds ``-2``, ``-3``...); default: derived from the task instance. Refused by the endpoints
        whose reference documents none (video extension, lip-sync). Templated.
    :param extra_fields: request fields this provider does not know yet (a newer service's), as a dict
        sent as given and logged; the service checks them. Fields that have their own argument are refused
        here. Templated.
    :param on_unknown_submission: what a try does when an earlier submission of this task
        instance may have created a task that the backend cannot be asked about (CometAPI, after a
        lost answer): ``resubmit`` (default) submits again (with the same ``external_task_id``), so
        the video comes on schedule but a second generation may be paid for; ``fail`` fails the
        task without retrying and pays nothing more.
    :param kling_conn_id: the Airflow connection of type ``kling``.
    :param wait_for_completion: wait for the video (default); False returns once submitted.
    :param deferrable: wait in the triggerer, holding no worker slot; default: Airflow's
        ``[operators] default_deferrable``. On Airflow 3.3 and later, a task that neither stores videos nor emits
        Asset events ends in the triggerer when its video is ready, with the same XCom value and extra link: no
        worker starts again for it (unless listeners, such as OpenLineage's, a custom XCom backend or
        ``multiple_outputs`` need one).
    :param poll_interval: the most seconds between status polls while waiting. Deferred, the first poll of a
        generation submitted by this try comes once the shortest render of its kind that the triggerer has
        seen could have ended (see :class:`~airflow_provider_kling.triggers.kling.RenderTimes`).
    :param timeout: longest wait for the video, in seconds or as a timedelta, across deferral and
        triggerer restarts; then the task fails (and may retry, picking the generation up again).
    :param output_path: a folder (``ObjectStoragePath`` or URL such as ``file:///data/videos``,
        ``s3://bucket/videos``) to store each result video in, as ``<kling task id>_<n>.mp4`` (and each
        result audio as ``<kling task id>_audio_<n>.mp3``, ``.wav`` when only a WAV is offered), since result
        URLs expire. Each stored file's item
        in the result gets ``stored_path`` and ``stored_bytes``. Checked before anything is submitted: an
        absolute path, or a URL whose filesystem is installed, where a small probe file can be written (and is
        removed).
        Templated. Default: not stored.

    """

    #: The endpoint this operator submits to (see :data:`~airflow_provider_kling.contract.ENDPOINTS`).
    endpoint: ClassVar[str]
    template_fields: Sequence[str] = ("extra_fields", "output_path")
    operator_extra_links = (KlingVideoLink(),)
    ui_color = "#d9f2ff"

    def __init__(
        self,
        *,
        callback_url: str | None = None,
        external_task_id: str | None = None,
        extra_fields: dict[str, Any] | None = None,
        on_unknown_submission: str = "resubmit",
        kling_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta = DEFAULT_WAIT_TIMEOUT,
        output_path: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if external_task_id is not None and "external_task_id" not in endpoint_named(self.endpoint).fields:
            raise KlingValidationError(
                "external_task_id",
                f"is not taken by {self.endpoint} (its reference documents none): leave it unset; "
                "on_unknown_submission decides what a try does after a lost answer",
            )
        self.callback_url = callback_url
        self.external_task_id = external_task_id
        self.extra_fields = extra_fields
        self.on_unknown_submission = check_choice(
            "on_unknown_submission", on_unknown_submission, UNKNOWN_SUBMISSION_POLICIES
        )
        self.kling_conn_id = check_conn_id(kling_conn_id)
        self.wait_for_completion = check_flag("wait_for_completion", wait_for_completion)
        self.deferrable = check_flag("deferrable", deferrable)
        self.poll_interval = check_seconds("poll_interval", poll_interval)
        self.timeout = check_seconds("timeout", timeout.total_seconds() if isinstance(timeout, timedelta) else timeout)
        self.output_path = output_path
        self.kling_video_url: str | None = None
        self._kling_task: dict[str, Any] | None = None  # the last state of this try's Kling task, for lineage

    @cached_property
    def hook(self) -> KlingHook:
        """The hook for ``kling_conn_id``."""
        # Imported here, as the trigger is: DAG parsing need not pay for the hook and its HTTP machinery.
        from airflow_provider_kling.hooks.kling import KlingHook

        return KlingHook(self.kling_conn_id)

    def _request_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in endpoint_named(self.endpoint).fields}

    def execute(self, context: Context) -> dict[str, Any]:
        """Find this task instance's earlier generation, or validate and submit a new one; then wait for it."""
        from airflow_provider_kling.storage import check_writable, output_folder

        check_writable(output_folder(self.output_path))
        return self._submit_and_wait(context, time.time() + self.timeout, read_record=context["ti"].try_number > 1)

    def submit_after_slot_wait(self, context: Context, event: KlingSlotEvent) -> dict[str, Any]:
        """Submit again once the triggerer found a slot that may be free on the account; then wait as before."""
        from airflow_provider_kling.triggers.events import raise_for_event

        self.log.info(event["message"])
        raise_for_event(event, timeout=KlingWaitTimeoutError)
        return self._submit_and_wait(
            context,
            event["deadline"],
            read_record=True,
            waiting_since=event["waiting_since"],
            refusals=event["refusals"],
        )

    def _submit_and_wait(
        self,
        context: Context,
        deadline: float,
        *,
        read_record: bool,
        waiting_since: float | None = None,
        refusals: int = 0,
    ) -> dict[str, Any]:
        """
        Find or submit the generation and wait for it, all by ``deadline``; deferrable, a submission refused for the
        account's concurrency waits for a free slot in the triggerer (a blocking one waits in the hook).

        :param context: the running task's context.
        :param deadline: when the task's ``timeout`` ends (``time.time()``).
        :param read_record: whether an earlier try or wait may have left a submission record to read.
        :param waiting_since: when the generation was first refused for the account's concurrency, if it was.
        :param refusals: how many times it was refused so far.
        """
        from airflow_provider_kling.triggers.kling import KlingSlotTrigger, KlingTaskTrigger

        try:
            task, submitted = self._find_or_submit(context, deadline, read_record=read_record)
        except KlingError as error:
            if not (self.deferrable and is_account_busy(error)):
                raise
            since = time.time() if waiting_since is None else waiting_since
            self.log.info(
                "Kling refused the submission for the account's concurrency (refused %d times, %.0f s so far): "
                "waiting for a free slot in the triggerer. %s",
                refusals + 1,
                time.time() - since,
                error,
            )
            self.defer(
                trigger=KlingSlotTrigger(
                    kling_conn_id=self.kling_conn_id,
                    deadline=deadline,
                    waiting_since=since,
                    refusals=refusals + 1,
                ),
                method_name="submit_after_slot_wait",
            )
        if not self.wait_for_completion or self._has_ended(task):
            return self._result(context, task)
        if self.deferrable:
            self.defer(
                trigger=KlingTaskTrigger(
                    kling_task_id=task["task_id"],
                    deadline=deadline,
                    kling_conn_id=self.kling_conn_id,
                    poll_interval=self.poll_interval,
                    endpoint=self.endpoint,
                    render_kind=self._render_kind() if submitted else None,
                    end_with_xcoms=self._end_from_trigger_xcoms(context),
                    cost_tags=self._cost_tags(),
                ),
                method_name="execute_complete",
            )
        waited = self.hook.wait_for_task(
            task["task_id"], endpoint=self.endpoint, poll_interval=self.poll_interval, timeout=deadline - time.time()
        )
        return self._result(context, waited)

    def execute_complete(self, context: Context, event: KlingTaskEvent | str) -> dict[str, Any]:
        """Turn the trigger's event into the task's result or failure."""
        from airflow_provider_kling.submission import SUBMISSION_STATE_KEY
        from airflow_provider_kling.triggers.events import get_task_its_trigger_ended, raise_for_event

        with contextlib.suppress(KlingError):
            self.hook.settings  # noqa: B018 - registers the key's every form with this process's masker first
        # A runner that resumes a task its trigger ended passes the bare end event ("success") and none of the XComs
        # the trigger set (Airflow 3.3's dag.test() does not: it gives triggers no task instance, so none ends a task).
        if isinstance(event, str):
            record = self._submission_store(context).get(SUBMISSION_STATE_KEY)
            task = get_task_its_trigger_ended(self.hook, record["task_id"], self.endpoint)
            return self._result(context, task, cost_reported=True)
        self.log.info(event["message"])
        raise_for_event(event, timeout=KlingWaitTimeoutError)
        return self._result(context, event["task"] or {})

    def _validated_body(self) -> dict[str, Any]:
        """The request body, every field checked and every image read, before anything is paid for."""
        from airflow_provider_kling.submission import check_given_external_task_id

        body = self.hook.validate(self.endpoint, extra_fields=self.extra_fields, **self._request_fields())
        check_given_external_task_id(body.get("external_task_id"))
        return body

    def _end_from_trigger_xcoms(self, context: Context) -> dict[str, str] | None:
        """
        The XComs the trigger sets when it ends a succeeded task itself (see
        :func:`~airflow_provider_kling.triggers.events.end_from_trigger_xcoms`); None where a worker must resume the
        task, also where it must store the videos.
        """
        from airflow_provider_kling.triggers.events import end_from_trigger_xcoms

        return None if self.output_path is not None else end_from_trigger_xcoms(self, context)

    def _cost_tags(self) -> dict[str, str]:
        """The tags of this operator's cost metrics (see :func:`~airflow_provider_kling.cost.metric_tags`)."""
        from airflow_provider_kling.cost import metric_tags

        fields = self._request_fields()
        return metric_tags(self.kling_conn_id, self.endpoint, fields.get("model_name"), fields.get("mode"))

    def _render_kind(self) -> str:
        """What renders of this operator's generations have in common: the trigger learns how long they take."""
        fields = self._request_fields()
        return " ".join(
            [self.kling_conn_id, self.endpoint, *(str(fields.get(name)) for name in ("model_name", "mode", "duration"))]
        )

    def _find_or_submit(self, context: Context, deadline: float, *, read_record: bool) -> tuple[dict[str, Any], bool]:
        """
        The earlier try's generation if it lives; else a new one, submitted; and whether it was submitted now.
        The request is checked (and its images read) only for a new one: a retry whose image has gone since still
        takes up what it paid for. A submission refused for the account's concurrency is recorded as having created
        nothing, and raised (deferrable) or waited out until ``deadline`` (blocking).
        """
        from airflow_provider_kling.submission import SUBMISSION_STATE_KEY, generation_external_task_id

        kind = endpoint_named(self.endpoint)
        store = self._submission_store(context)
        # A first try has no earlier submission to find: it reads nothing (a missing Variable is logged as an error).
        record = store.get(SUBMISSION_STATE_KEY) if read_record else {}
        generation = int(record.get("generation", 1))
        if record and not record.get("refused"):  # a refused submission created nothing: it is sent again
            earlier = self._earlier_generation(record)
            if earlier is not None and task_status(earlier) is not TaskStatus.FAILED:
                self.log.info(
                    "Found Kling task %s (%s, external_task_id %s) from an earlier try: not submitting again",
                    earlier["task_id"],
                    earlier.get("task_status"),
                    record.get("external_task_id"),
                )
                return earlier, False
            if earlier is not None:
                self.log.warning(
                    "Kling task %s (external_task_id %s) failed earlier (%s): submitting a new generation",
                    earlier["task_id"],
                    record.get("external_task_id"),
                    earlier.get("task_status_msg") or "no reason given",
                )
                generation += 1
            elif record.get("task_id"):
                self.log.warning(
                    "Kling no longer knows task %s from an earlier try: submitting a new generation", record["task_id"]
                )
                generation += 1
        # A submission refused for the account's concurrency is sent again in the editing session opened for it.
        body, session = self.hook.prepare_editing_session(
            self.endpoint, self._validated_body(), record.get("session") if record.get("refused") else None
        )
        base = body.pop("external_task_id", None) or self._derived_id(context)
        ids = {"external_task_id": generation_external_task_id(base, generation)} if kind.takes_external_task_id else {}
        record = {"generation": generation, **ids, **({"session": session} if session else {})}
        store.set(SUBMISSION_STATE_KEY, record)
        self.log.info("Submitting a Kling %s task: %s", kind.name, json.dumps(loggable_body({**body, **ids})))
        try:
            task = self.hook.create_task(
                self.endpoint,
                **split_request_fields(body, kind)[0],
                **ids,
                extra_fields=self.extra_fields,
                on_unknown_submission=self.on_unknown_submission,
                # Deferrable, the wait for a free slot is the triggerer's; blocking, it is this worker's.
                slot_timeout=0 if self.deferrable else max(deadline - time.time(), 0.001),
            )
        except KlingError as error:
            if is_account_busy(error) or isinstance(error, KlingNoFreeSlotError):
                store.set(SUBMISSION_STATE_KEY, {**record, "refused": True})
            raise
        self.log.info("Kling task %s submitted (%s)", task["task_id"], task.get("task_status"))
        store.set(SUBMISSION_STATE_KEY, {**record, "task_id": task["task_id"]})
        return task, True

    @staticmethod
    def _derived_id(context: Context) -> str:
        from airflow_provider_kling.submission import derived_external_task_id

        ti = context["ti"]
        return derived_external_task_id(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)

    def _submission_store(self, context: Context) -> SubmissionStore:
        from airflow_provider_kling.submission import SubmissionStore

        return SubmissionStore(context, self._derived_id(context))

    def _earlier_generation(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """
        The task an earlier try submitted, from its record; None where it created none, or none that lives.

        With a recorded ``task_id`` the task is read by it (every backend can). Without one, the
        earlier submission's outcome is unknown: Kling's own API is asked by ``external_task_id``;
        on a backend that cannot be asked, ``on_unknown_submission`` decides.
        """
        from airflow_provider_kling.submission import resubmission_warning, unknown_submission

        if record.get("task_id"):
            try:
                return self.hook.get_task(record["task_id"], self.endpoint)
            except KlingTaskNotFoundError:
                return None
        backend, kind = self.hook.settings.backend, endpoint_named(self.endpoint)
        external_id = unknown_submission(record, backend, kind, self.on_unknown_submission)
        if external_id is not None:
            return self.hook.find_task(external_id, self.endpoint)
        self.log.warning(resubmission_warning(record, backend, kind))
        return None

    @staticmethod
    def _has_ended(task: dict[str, Any]) -> bool:
        status = task_status(task)
        return status is not None and not status.is_active

    def _result(self, context: Context, task: dict[str, Any], *, cost_reported: bool = False) -> dict[str, Any]:
        """
        Turn the Kling task into the try's result: a failure raised; a success's files stored, its cost reported
        (unless its trigger ``cost_reported`` already), its link and Asset events set.
        """
        from airflow_provider_kling._compat import remember_video_url
        from airflow_provider_kling.cost import UNITS_KEY, report_cost, units_charged
        from airflow_provider_kling.storage import output_folder, store_results
        from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

        self._kling_task = task
        status = task_status(task)
        if status is TaskStatus.FAILED:
            raise KlingTaskFailedError(task)
        if status is TaskStatus.SUCCEED:  # else submitted, not waited for: a sensor takes it from here
            urls = succeeded_result_urls(task)
            self.log.info("Kling task %s produced: %s", task["task_id"], ", ".join(urls))
            if cost_reported:
                task[UNITS_KEY] = units_charged(task)
            else:
                report_cost(task, self._cost_tags(), self.log)
            folder = output_folder(self.output_path)
            if folder is not None:
                store_results(task, folder, self.hook.download_video)
            self.kling_video_url = urls[0]  # only once all went well: a failed task keeps no link
            remember_video_url(context, urls[0])
            self._record_asset_events(context, task)
        self._submission_store(context).finish(SUBMISSION_STATE_KEY)
        return task

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> VideoLineage:
        """
        What OpenLineage reports when the task ends (read by ``apache-airflow-providers-openlineage``, if installed):
        the images named by location as inputs, the stored videos (or else the videos Kling made) as outputs, the
        Kling task id as the run's external query. See :func:`airflow_provider_kling.lineage.video_lineage`.

        :param task_instance: the task instance that ran (unused: the operator holds what it made).
        """
        from airflow_provider_kling.lineage import video_lineage

        base_url = self.hook.settings.base_url if self._kling_task is not None else ""
        return video_lineage(self._kling_task, self._request_fields(), base_url)

    def _record_asset_events(self, context: Context, task: dict[str, Any]) -> None:
        from airflow.providers.common.compat.sdk import Asset

        videos, audios = task_videos(task), task_audios(task)
        extra = {
            "kling_task_id": task["task_id"],
            "video_urls": [video["url"] for video in videos],
            "stored_paths": [item["stored_path"] for item in videos + audios if "stored_path" in item],
        }
        if audios:
            extra["audio_urls"] = [audio_url(audio) for audio in audios]
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra.update(extra)


def templated_fields(endpoint: str, *untemplated: str) -> tuple[str, ...]:
    """
    Return the ``template_fields`` of an endpoint's operator: the endpoint's request fields, then the core's.

    :param endpoint: the operator's endpoint (a name in :data:`~airflow_provider_kling.contract.ENDPOINTS`).
    :param untemplated: the fields that are checked when the DAG is parsed, or too large to render.
    """
    fields = (name for name in endpoint_named(endpoint).fields if name not in untemplated)
    return (*fields, *KlingVideoOperator.template_fields)


class KlingText2VideoOperator(KlingVideoOperator):
    """
    Generate a video from a text prompt with Kling (``/v1/videos/text2video``) and return its task object.

    It waits for the video, safe to retry: see :class:`KlingVideoOperator`, whose arguments it also takes.

    :param prompt: the text prompt, 1 to 500 characters on CometAPI, 2,500 on Kling's own API; none with
        ``shot_type="customize"`` (each shot has its own). Templated.
    :param negative_prompt: what to keep out of the video, at most 200 characters on CometAPI, 2,500 on
        Kling's own API. Templated.
    :param model_name: ``kling-v1``, ``kling-v1-6``, ``kling-v2-master``, ``kling-v2-1-master``,
        ``kling-v2-5-turbo``, ``kling-v2-6`` or ``kling-v3`` (more through the connection's
        ``extra_models``); default: the service's. Templated.
    :param cfg_scale: prompt adherence from 0 to 1 (not for the kling-v2.x models); checked when
        the DAG is parsed.
    :param mode: ``std`` (default) or ``pro`` (higher quality, costs more). Templated.
    :param aspect_ratio: ``16:9`` (default), ``9:16`` or ``1:1``. Templated.
    :param duration: video length in seconds, 5 (default) or 10; on Kling's own API, kling-v3 takes 3 to 15.
        With ``multi_prompt``, the shots' total (the default). Templated.
    :param sound: ``on`` or ``off``, for models with generated audio (kling-v2-6, kling-v3; refused for the
        other known models, left to the service when ``model_name`` is unset or an extra model). Templated.
    :param camera_control: ``{"type": T}`` with T one of ``down_back``, ``forward_up``,
        ``right_turn_forward``, ``left_turn_forward``, or ``{"type": "simple", "config": {...}}``
        with exactly one of horizontal, vertical, pan, tilt, roll, zoom non-zero (-10 to 10).
    :param multi_shot: ``True`` renders several shots in one video (kling-v3; set ``model_name``); checked
        when the DAG is parsed. CometAPI does not document it: a relay that drops it renders one shot.
    :param shot_type: with ``multi_shot``: ``customize`` (your shots, in ``multi_prompt``) or
        ``intelligence`` (Kling plans the shots from ``prompt``). Templated.
    :param multi_prompt: with ``shot_type="customize"``: 1 to 6 shots, each ``{"prompt": text of at most
        512 characters, "duration": seconds}``, numbered in order; their durations add up to ``duration``.
        Templated.
    :param watermark_info: ``{"enabled": True}`` for a watermarked copy of each video as well
        (``watermark_url`` beside ``url`` in the result); checked when the DAG is parsed.
    """

    endpoint = "text2video"
    template_fields: Sequence[str] = templated_fields(
        "text2video", "cfg_scale", "camera_control", "multi_shot", "watermark_info"
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"prompt": "md", "negative_prompt": "md"}

    def __init__(
        self,
        *,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        cfg_scale: float | None = None,
        mode: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | str | None = None,
        sound: str | None = None,
        camera_control: dict[str, Any] | None = None,
        multi_shot: bool | None = None,
        shot_type: str | None = None,
        multi_prompt: list[dict[str, Any]] | None = None,
        watermark_info: dict[str, bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.model_name = model_name
        self.cfg_scale = cfg_scale if cfg_scale is None else check_cfg_scale(cfg_scale)
        self.mode = mode
        self.aspect_ratio = aspect_ratio
        self.duration = duration
        self.sound = sound
        self.camera_control = camera_control if camera_control is None else check_camera_control(camera_control)
        self.multi_shot = multi_shot if multi_shot is None else check_flag("multi_shot", multi_shot)
        self.shot_type = shot_type
        self.multi_prompt = multi_prompt
        self.watermark_info = watermark_info if watermark_info is None else check_watermark_info(watermark_info)
