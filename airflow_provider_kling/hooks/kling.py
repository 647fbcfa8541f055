"""The hooks for Kling's video tasks, through CometAPI or Kling's own API: all of the provider's HTTP goes through them.

:class:`KlingHook` is synchronous (``requests``), for workers; :class:`KlingAsyncHook` (defined in
:mod:`airflow_provider_kling.hooks._async`) is its asynchronous twin, for triggers. Both read the connection into
:class:`KlingSettings`, build requests and read answers through :mod:`airflow_provider_kling.contract`, and retry
through one tenacity policy (:mod:`airflow_provider_kling.hooks._base`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_kling import CONNECTION_FIELDS, CONNECTION_UI_FIELD_BEHAVIOUR
from airflow_provider_kling._constants import DEFAULT_SLOT_TIMEOUT, UNKNOWN_SUBMISSION_POLICIES
from airflow_provider_kling.concurrency import slot_pause
from airflow_provider_kling.contract import (
    ENDPOINTS,
    SESSION_REUSE_SECONDS,
    TEXT2VIDEO,
    Endpoint,
    build_request,
    check_choice,
    check_selections,
    check_served,
    check_session_video,
    endpoint_named,
    is_account_busy,
    loggable_body,
    parse_task,
    read_session,
    split_request_fields,
    task_status,
    wrap,
)
from airflow_provider_kling.exceptions import (
    KlingConfigurationError,
    KlingError,
    KlingNoFreeSlotError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks._async import KlingAsyncHook
from airflow_provider_kling.hooks._base import KlingHookBase
from airflow_provider_kling.hooks._download import open_video, stream_into
from airflow_provider_kling.hooks._settings import KlingSettings
from airflow_provider_kling.netguard import (
    MAX_ANSWER_BYTES,
    CappedBody,
    check_video_url,
    is_private_host,
)
from airflow_provider_kling.storage import inline_images
from airflow_provider_kling.submission import SubmissionPlan

if TYPE_CHECKING:
    import requests
    from airflow.providers.common.compat.sdk import ObjectStoragePath

__all__ = ["KlingAsyncHook", "KlingHook", "KlingSettings"]


class KlingHook(KlingHookBase):
    """
    Call Kling's video tasks from a worker, through CometAPI or Kling's own API; one ``requests.Session`` per hook.

    :param kling_conn_id: the Airflow connection of type ``kling``: extra ``backend`` picks the service
        (``cometapi``, the default, or ``kling`` for Kling's own API); password: the CometAPI key, or
        Kling's secret key (else the ``api_key`` extra); login: Kling's access key (``kling`` only);
        host: the base URL (default: the backend's).
    :param timeout: seconds for each HTTP request; default: the connection's ``timeout`` extra, or 60.
    :param retry_limit: how many times a transient failure (timeout, connection error, HTTP 429
        with code 1302/1303, 5xx) is retried inside the hook before the error is raised;
        default: the connection's ``retry_limit`` extra, or 5.
    :param retry_delay: base seconds of the exponential backoff (with jitter, capped at 60 s);
        a ``Retry-After`` header takes precedence (up to 300 s). Default: the connection's
        ``retry_delay`` extra, or 2.
    :param deadline: an absolute time (``time.time()``) that bounds everything a call does:
        requests, retries, ``Retry-After`` pauses and downloads. Past it a call raises
        :class:`~airflow_provider_kling.exceptions.KlingWaitTimeoutError`. Default: none.
    """

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's layout, for Airflow before 3.2 (later ones read the provider info)."""
        return CONNECTION_UI_FIELD_BEHAVIOUR

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's own fields, for Airflow before 3.2 (later ones read the provider info)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from wtforms import IntegerField, StringField

        widgets = {}
        for name, declared in CONNECTION_FIELDS.items():
            schema = declared["schema"]
            description = declared.get("description", "")
            if "enum" in schema:
                choices = ", ".join(choice for choice in schema["enum"] if choice)
                description = f"{description} One of: {choices}.".strip()
            kind = IntegerField if "integer" in schema["type"] else StringField
            widgets[name] = kind(
                declared["label"], description=description, default=schema.get("default"), widget=BS3TextFieldWidget()
            )
        return widgets

    @cached_property
    def settings(self) -> KlingSettings:
        """The connection's settings, looked up once; the key is masked in every log from then on."""
        settings = self._read_settings(self.get_connection(self.kling_conn_id))
        for secret in settings.secrets:
            mask_secret(secret)
        return settings

    def get_conn(self) -> requests.Session:
        """Return the hook's HTTP session (TLS verification on; the key goes on each request, not the session)."""
        return self._session

    @cached_property
    def _session(self) -> requests.Session:
        import requests

        session = requests.Session()
        session.headers.update(self.headers())
        return session

    def _request_once(self, method: str, route: str, **kwargs: Any) -> Any:
        import requests
        import urllib3

        settings = self.settings
        request = self._prepare(settings, route)
        if request.new_token:
            mask_secret(request.new_token)
        body = CappedBody(MAX_ANSWER_BYTES, time.monotonic() + request.timeout, f"The answer from {request.url}")
        try:
            with self._session.request(
                method,
                request.url,
                timeout=request.timeout,
                verify=True,
                stream=True,
                headers=request.headers,
                **kwargs,
            ) as response:
                while chunk := response.raw.read1(1 << 16, decode_content=True):
                    body.add(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, KlingTransientError) as error:
            raise self._transport_error(settings, error) from None
        return self._finish(settings, request, response.status_code, response.headers, body.bytes())

    def _request(self, method: str, route: str, **kwargs: Any) -> Any:
        from tenacity import Retrying

        return Retrying(**self._retry_policy(self.settings))(self._request_once, method, route, **kwargs)

    def validate(
        self, endpoint: str, *, extra_fields: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """
        Check a request without sending it; return the JSON body that would be sent.

        Images given as a path or ``ObjectStoragePath`` are read here and come back as Base64.

        :param endpoint: a name in :data:`~airflow_provider_kling.contract.ENDPOINTS` (``text2video``...).
        :param extra_fields: fields the provider does not know yet, sent as given (see :meth:`create_task`).
        :param fields: the request fields (see :meth:`create_task`).
        """
        settings = self.settings
        return build_request(
            endpoint_named(endpoint),
            inline_images(fields),
            backend=settings.backend,
            extra_models=settings.extra_models,
            extra_fields=extra_fields,
        )

    def validate_text2video(
        self, prompt: Any = None, *, extra_fields: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """
        Check a text-to-video request without sending it (:meth:`validate` for ``text2video``); return its body.

        :param prompt: the text prompt (1 to 500 characters on CometAPI, 2,500 on Kling's own API).
        :param extra_fields: fields the provider does not know yet, sent as given (see :meth:`create_text2video`).
        :param fields: the other request fields (see :meth:`create_text2video`).
        """
        return self.validate("text2video", extra_fields=extra_fields, prompt=prompt, **fields)

    def create_text2video(
        self,
        prompt: str | None = None,
        *,
        on_unknown_submission: str = "resubmit",
        extra_fields: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """
        Submit a text-to-video task and return the task object: :meth:`create_task` for ``text2video``.

        :param prompt: the text prompt, 1 to 500 characters on CometAPI, 2,500 on Kling's own API (none
            with ``shot_type="customize"``, whose shots carry their own).
        :param on_unknown_submission: see :meth:`create_task`.
        :param fields: any of ``negative_prompt`` (at most 200 characters on CometAPI, 2,500 on
            Kling's own API), ``model_name``, ``cfg_scale`` (0 to 1), ``mode`` (``std``/``pro``),
            ``aspect_ratio`` (``16:9``, ``9:16``, ``1:1``), ``duration`` (5 or 10; 3 to 15 for
            kling-v3 on Kling's own API), ``sound`` (``on``/``off``),
            ``camera_control``, ``callback_url`` (https; http only for localhost), ``external_task_id``,
            ``multi_shot`` (kling-v3) with ``shot_type`` (``customize``/``intelligence``) and
            ``multi_prompt`` (1 to 6 shots), and ``watermark_info`` (``{"enabled": True}``).
        :param extra_fields: request fields the provider does not know yet (a newer service's), sent
            as given and logged; the service, not the provider, checks them.
        """
        return self.create_task(
            "text2video",
            prompt=prompt,
            on_unknown_submission=on_unknown_submission,
            extra_fields=extra_fields,
            **fields,
        )

    def create_task(
        self,
        endpoint: str,
        *,
        on_unknown_submission: str = "resubmit",
        extra_fields: Mapping[str, Any] | None = None,
        slot_timeout: float | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """
        Submit a Kling video task and return the task object (the answer's ``data``).

        Every field is validated before anything is sent; only the fields given are sent. A refused
        submission (429 with 1302, 503 with 5001) is sent again after a pause. One refused for the account's
        concurrency (429 with 1303, or a 429 without a Kling code) waits for a free slot: it is sent again
        after a pause that doubles with each refusal (from the connection's ``retry_delay`` to 60 s, with
        jitter) until ``slot_timeout``, logging how long it has waited. When a
        submission's answer is lost (a timeout, a reset, a gateway's 502/504/524), whether it created
        a task is unknown: on a backend that looks tasks up by ``external_task_id`` (Kling's own
        API) the hook asks, and sends again only if there is none; elsewhere (CometAPI, or an endpoint
        without ``external_task_id``) it follows ``on_unknown_submission``. On Kling's own API, a
        submission refused because its ``external_task_id`` is taken returns the task that holds it.

        :param endpoint: ``text2video`` (fields: :meth:`create_text2video`), ``image2video`` (``image``
            and/or ``image_tail``, ``prompt``, ``negative_prompt``, ``model_name``, ``cfg_scale``, ``mode``,
            ``duration``, ``camera_control``, ``callback_url``, ``external_task_id``), ``multi-image2video``
            (``image_list`` of 1 to 4 images, ``prompt``, ``negative_prompt``, ``model_name``, ``mode``,
            ``duration``, ``aspect_ratio``, ``callback_url``, ``external_task_id``), ``video-extend``
            (``video_id``, ``prompt``, ``negative_prompt``, ``cfg_scale``, ``callback_url``), or ``omni-video``,
            ``multi-elements``, ``effects``, ``lip-sync``, ``advanced-lip-sync``, ``video-to-audio`` and
            ``text-to-audio`` (the arguments of their operators; multi-elements and advanced-lip-sync open their
            editing session with :meth:`open_editing_session`). An image is
            an http(s) URL, Base64, or a path or ``ObjectStoragePath`` of a JPEG or PNG of at most 10 MiB,
            read and sent as Base64.
        :param on_unknown_submission: where the backend cannot be asked, ``resubmit`` sends the
            submission again (with the same ``external_task_id``, if any: a second generation may be paid
            for), ``fail`` raises :class:`~airflow_provider_kling.exceptions.KlingSubmissionUnknownError`
            (no retry, nothing more paid).
        :param extra_fields: request fields the provider does not know yet (a newer service's), sent
            as given and logged; the service, not the provider, checks them.
        :param slot_timeout: the longest wait for a free slot on the account, in seconds, within the hook's
            ``deadline``; past it :class:`~airflow_provider_kling.exceptions.KlingWaitTimeoutError` is raised.
            0 raises the refusal itself at once (a deferrable operator then waits in the triggerer). Default:
            until the hook's ``deadline``, or an hour without one.
        :param fields: the endpoint's request fields.
        """
        from tenacity import Retrying

        check_choice("on_unknown_submission", on_unknown_submission, UNKNOWN_SUBMISSION_POLICIES)
        kind = endpoint_named(endpoint)
        body = self.validate(endpoint, extra_fields=extra_fields, **fields)
        settings = self.settings
        body = self.prepare_editing_session(endpoint, body)[0]
        if extra_fields:
            self.log.info("Sending fields the provider does not check: %s", json.dumps(loggable_body(extra_fields)))
        if body.get("multi_shot") and not settings.backend.documents_multi_shot:
            self.log.warning(
                "The %s backend documents no multi_shot: a relay that drops the shot fields renders one shot instead",
                settings.backend.name,
            )
        plan = SubmissionPlan(settings.backend, body.get("external_task_id"), on_unknown_submission)
        route = settings.backend.path(kind.route)

        def submit() -> dict[str, Any]:
            try:
                return parse_task(self._request_once("POST", route, json=body), submitted=True)
            except KlingError as error:
                external_task_id = plan.id_to_look_up(error)
                if external_task_id is None:
                    raise
                found = self._find_once(external_task_id, kind)
                if found is None:
                    raise
                self.log.info(
                    "Found task %s by external_task_id %s: not submitting it again",
                    found["task_id"],
                    external_task_id,
                )
                return found

        retrying = Retrying(**self._retry_policy(settings, account_busy=False))
        waited_from = time.time()
        if slot_timeout is None:
            slot_timeout = math.inf if self.deadline is not None else DEFAULT_SLOT_TIMEOUT
        wait_until = min(waited_from + slot_timeout, math.inf if self.deadline is None else self.deadline)
        refusals = 0
        while True:
            try:
                return retrying(submit)
            except KlingError as error:
                if not is_account_busy(error) or slot_timeout == 0:
                    raise
                refusals += 1
                pause = slot_pause(refusals, settings.retry_delay, getattr(error, "retry_after", None))
                waited = time.time() - waited_from
                if time.time() + pause > wait_until:
                    raise KlingNoFreeSlotError(
                        f"No free slot on the Kling account within {waited:.0f} s: the submission was refused "
                        f"{refusals} times for the account's concurrency ({error})"
                    ) from None
                self.log.info(
                    "Waiting for a free slot on the Kling account (its concurrency is full; refused %d times): "
                    "%.0f s so far, submitting again in %.1f s",
                    refusals,
                    waited,
                    pause,
                )
                time.sleep(pause)

    def open_editing_session(
        self,
        endpoint: str = "multi-elements",
        *,
        video_id: str | None = None,
        video_url: str | None = None,
        selections: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """
        Open an editing session for a video and return its answer: ``session_id`` (valid 24 hours) and what the
        service read (multi-elements: the video's ``original_duration`` and ``total_frame``; advanced-lip-sync: the
        ``face_data`` of each face). Its calls make no task.

        :param endpoint: ``multi-elements`` (``init-selection``, then ``add-selection`` for each marked frame) or
            ``advanced-lip-sync`` (``identify-face``).
        :param video_id: the id of a video Kling made in the last 30 days (Kling's own API).
        :param video_url: the URL of an mp4 or mov video, instead.
        :param selections: multi-elements only: the element's marks, 1 to 10 frames, each ``{"frame_index": n,
            "points": [{"x": 0.5, "y": 0.4}]}``.
        """
        kind = endpoint_named(endpoint)
        if kind.session is None:
            editable = [name for name, other in ENDPOINTS.items() if other.session is not None]
            raise KlingValidationError(
                "endpoint", f"{endpoint!r} has no editing session; allowed: {', '.join(editable)}"
            )
        if selections is not None and not kind.session.marks:
            raise KlingValidationError("selections", f"marks frames for multi-elements only, not {endpoint}")
        backend = self.settings.backend
        check_served(kind, backend)
        source = check_session_video(backend, video_id, video_url)
        marks = check_selections(selections) if selections is not None else []
        videos = backend.path("/v1/videos")
        opened = self._request("POST", f"{videos}/{kind.session.opens}", json=source)
        session_id = read_session(opened, next(iter(source)))
        for mark in marks:
            marked = self._request("POST", f"{videos}/{kind.session.marks}", json={"session_id": session_id, **mark})
            read_session(marked, "selections")
        self.log.info("Opened Kling editing session %s for %s (%d frames marked)", session_id, endpoint, len(marks))
        return dict(opened)

    def prepare_editing_session(
        self, endpoint: str, body: Mapping[str, Any], earlier: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """
        Return a checked body (see :meth:`validate`) ready to submit, with the editing session its endpoint needs:
        opened (and its answer checked against the body), or ``earlier`` reused while it lives; and that session as
        a record (``opened_at``, the ``fields`` it gave the body) to reuse. An endpoint without a session, or a body
        with its own ``session_id``, comes back as given, with None.

        :param endpoint: the endpoint the body goes to.
        :param body: the checked body.
        :param earlier: a session this method returned for the same request before (a submission refused for the
            account's concurrency is sent again in it).
        """
        kind = endpoint_named(endpoint)
        flat, extra = split_request_fields(body, kind)
        if kind.session is None or "session_id" in flat:
            return dict(body), None
        opening = {name: flat.pop(name) for name in kind.session.fields if name in flat}
        if earlier is None or time.time() - earlier["opened_at"] > SESSION_REUSE_SECONDS:
            filled = kind.session.fill(flat, self.open_editing_session(endpoint, **opening))
            added = {name: value for name, value in filled.items() if name not in flat or flat[name] != value}
            earlier = {"opened_at": time.time(), "fields": added}
        else:
            self.log.info("Reusing Kling editing session %s", earlier["fields"].get("session_id"))
        wire = {dict(kind.renamed).get(name, name): value for name, value in {**flat, **earlier["fields"]}.items()}
        return {**wrap(wire, kind), **extra}, dict(earlier)

    def get_task(self, task_id: str, endpoint: str = "text2video") -> dict[str, Any]:
        """
        Return the task object of a Kling task.

        :param task_id: the Kling ``task_id`` (on Kling's own API, also an ``external_task_id``).
        :param endpoint: the endpoint the task was submitted to (it is queried there).
        """
        return parse_task(self._request("GET", self._task_path(self.settings, task_id, endpoint_named(endpoint))))

    def wait_for_task(
        self, task_id: str, *, endpoint: str = "text2video", poll_interval: float = 10.0, timeout: float = 3600.0
    ) -> dict[str, Any]:
        """
        Poll a Kling task until it ends (``succeed`` or ``failed``); return its final task object.

        A status outside the known set is logged and waited on, never taken as the end. The
        ``timeout`` bounds the whole wait, requests and retries included (with the hook's own
        ``deadline``, whichever comes first).

        :param task_id: the Kling ``task_id``.
        :param endpoint: the endpoint the task was submitted to.
        :param poll_interval: seconds between polls.
        :param timeout: the longest wait, in seconds; then
            :class:`~airflow_provider_kling.exceptions.KlingWaitTimeoutError` is raised.
        """
        outer = self.deadline
        self.deadline = time.time() + timeout if outer is None else min(outer, time.time() + timeout)
        started, last = time.monotonic(), None
        try:
            while True:
                task: dict[str, Any] | None
                try:
                    task = self.get_task(task_id, endpoint)
                except KlingWaitTimeoutError:
                    task = None
                if task is not None:
                    if task.get("task_status") != last:
                        last = task.get("task_status")
                        self.log.info("Kling task %s is %r after %.0f s", task_id, last, time.monotonic() - started)
                    status = task_status(task)
                    if status is not None and not status.is_active:
                        return task
                remaining = self.deadline - time.time()
                if task is None or remaining <= 0:
                    raise KlingWaitTimeoutError(
                        f"Kling task {task_id} did not end within the timeout: waited "
                        f"{time.monotonic() - started:.0f} s, last status {last!r}"
                    )
                time.sleep(min(poll_interval, remaining))
        finally:
            self.deadline = outer

    def _find_once(self, external_task_id: str, endpoint: Endpoint) -> dict[str, Any] | None:
        """One lookup by ``external_task_id``, without retries of its own (it runs inside a submission's)."""
        try:
            path = self._external_id_path(self.settings, external_task_id, endpoint)
            return parse_task(self._request_once("GET", path))
        except KlingTaskNotFoundError:
            return None

    def find_task(self, external_task_id: str, endpoint: str = "text2video") -> dict[str, Any] | None:
        """
        Return the task submitted with this ``external_task_id``, or None if there is none.

        Only Kling's own API answers this (CometAPI looks tasks up by ``task_id`` only: there it
        raises :class:`~airflow_provider_kling.exceptions.KlingConfigurationError`).

        :param external_task_id: the id given at submit.
        :param endpoint: the endpoint it was submitted to.
        """
        from tenacity import Retrying

        return Retrying(**self._retry_policy(self.settings))(
            self._find_once, external_task_id, endpoint_named(endpoint)
        )

    def list_tasks(self, page: int = 1, page_size: int = 30) -> list[dict[str, Any]]:
        """
        Return one page of the account's text-to-video tasks, newest first (Kling's own API only).

        :param page: page number, 1 to 1000.
        :param page_size: tasks per page, 1 to 500.
        """
        if not 1 <= page <= 1000:
            raise KlingValidationError("page", f"got {page!r}; allowed: 1 to 1000")
        if not 1 <= page_size <= 500:
            raise KlingValidationError("page_size", f"got {page_size!r}; allowed: 1 to 500")
        backend = self.settings.backend
        if not backend.list_route:
            raise KlingConfigurationError(f"The {backend.name} backend has no route that lists tasks")
        answer = self._request("GET", backend.path(TEXT2VIDEO.route), params={"pageNum": page, "pageSize": page_size})
        return [parse_task(task) for task in answer or []]

    @cached_property
    def _download_session(self) -> requests.Session:
        # Result URLs live on a CDN: the API key must never travel there, so this session has none.
        import requests

        return requests.Session()

    def download_video(self, url: str, destination: ObjectStoragePath | str) -> int:
        """
        Store a result video at ``destination`` and return its size in bytes.

        The body is streamed (constant memory) into a hidden temporary file beside the destination,
        checked against the server's ``Content-Length``, then renamed into place, so no half-written
        file ever carries the final name. Only what is a video is stored: an MP4's first box, no
        text or JSON content type, at most the connection's ``max_video_bytes`` (default 4 GiB).
        Only ``http(s)`` URLs on public hosts are fetched, and each redirect is checked the same
        way; private, loopback and link-local hosts need the connection's
        ``allow_private_video_hosts`` extra (allowed by default when the base URL itself is on
        such a host, as the local sandbox is). The download as a whole must finish within the
        request timeout plus 1 s per MiB announced, and within the hook's deadline. Failures are
        retried like API calls. The API key is never sent to the video host.

        :param url: the video URL from the task result.
        :param destination: where to store it: an ``ObjectStoragePath`` or URL (``file://``,
            ``s3://``, ``gs://``... as the installed providers support).
        """
        from airflow.providers.common.compat.sdk import ObjectStoragePath
        from tenacity import Retrying

        settings = self.settings
        allow_private = settings.allow_private_video_hosts
        if allow_private is None:
            allow_private = is_private_host(urlsplit(settings.base_url).hostname or "")
        check_video_url(url, allow_private=allow_private)
        target = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(destination)
        target.parent.mkdir(parents=True, exist_ok=True)

        def fetch() -> int:
            timeout = self._time_left(settings, f"the download of {url}")
            started = time.monotonic()
            with open_video(self._download_session, url, timeout, allow_private) as response:
                return stream_into(response, url, target, settings.max_video_bytes, started + timeout, self.deadline)

        size = Retrying(**self._retry_policy(settings))(fetch)
        self.log.info("Stored %s (%d bytes) at %s", url, size, target)
        return size

    def test_connection(self) -> tuple[bool, str]:
        """Check the key against the service by asking for a task that does not exist (costs nothing)."""
        try:
            settings = self.settings
        except KlingError as error:
            return False, str(error)
        try:
            self._request_once("GET", self._task_path(settings, "airflow-connection-test"))
        except KlingTaskNotFoundError:
            return True, f"Connected to {settings.base_url} ({settings.backend.name}): the API key was accepted."
        except KlingTransientError as error:
            return False, f"The service could not be reached: {error}"
        except KlingError as error:
            return False, str(error)
        return True, f"Connected to {settings.base_url} ({settings.backend.name})."
