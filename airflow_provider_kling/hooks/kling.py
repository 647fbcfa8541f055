"""Hooks for Kling's video tasks, through CometAPI or Kling's own API: all of the provider's HTTP lives here.

:class:`KlingHook` is synchronous (``requests``), for workers; :class:`KlingAsyncHook` is its
asynchronous twin (``httpx``), for triggers. Both build requests and read answers through
:mod:`airflow_provider_kling.contract`, ask the connection's :class:`~airflow_provider_kling.contract.Backend`
what the service can do, and retry through the same tenacity policy.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_kling import __version__
from airflow_provider_kling.contract import (
    BACKENDS,
    DEFAULT_BACKEND,
    TEXT2VIDEO,
    UNKNOWN_SUBMISSION_POLICIES,
    Backend,
    Endpoint,
    build_request,
    check_image_bytes,
    endpoint_named,
    is_account_busy,
    is_rate_limited,
    listed_image,
    loggable_body,
    names_a_file,
    parse_response,
    parse_task,
    redact,
)
from airflow_provider_kling.exceptions import (
    KlingAuthError,
    KlingConfigurationError,
    KlingError,
    KlingInvalidRequestError,
    KlingNoFreeSlotError,
    KlingPermanentError,
    KlingSubmissionUnknownError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.netguard import DEFAULT_MAX_VIDEO_BYTES, MAX_ANSWER_BYTES, CappedBody

if TYPE_CHECKING:
    import asyncio

    import httpx
    import requests
    from airflow.providers.common.compat.sdk import ObjectStoragePath
    from tenacity import RetryCallState

DOWNLOAD_CHUNK_BYTES = 1 << 20
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_DELAY = 2.0
#: The most retries of one call that a connection may ask for.
MAX_RETRY_LIMIT = 20
#: What an HTTP header can carry of a key: visible ASCII, no spaces or line breaks.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
MAX_RETRY_DELAY = 60.0
#: The longest ``Retry-After`` honoured as given; longer asks are capped to this.
MAX_RETRY_AFTER = 300.0
#: One triggerer's connections to one Kling endpoint, shared by all of its waits, are split among
#: this many clients of :data:`ASYNC_CLIENT_CONNECTIONS` each: httpx's pool does work quadratic in
#: its size on every request (encode/httpcore#1035), so ten pools of ten cost far less than one of 100.
ASYNC_CLIENTS = 10
ASYNC_CLIENT_CONNECTIONS = 10
ASYNC_POOL_SIZE = ASYNC_CLIENTS * ASYNC_CLIENT_CONNECTIONS
#: The connection's ``requests_per_second`` extra when unset: our choice, not a published figure (CometAPI
#: publishes no rate), low enough for any key, which a connection raises to what its account allows.
DEFAULT_REQUESTS_PER_SECOND = 10.0
MIN_REQUESTS_PER_SECOND = 0.01
MAX_REQUESTS_PER_SECOND = 10_000.0
#: How long a submission waits for a free slot on the account when nothing else bounds it, in seconds.
DEFAULT_SLOT_TIMEOUT = 3600.0
#: Kling's own API: how long a signed token lives, and how long before its end a new one is made.
JWT_LIFETIME = 1800
JWT_RENEW_BEFORE = 300


@dataclass(frozen=True)
class KlingSettings:
    """What a hook needs from its connection, read once per hook (its repr leaves the key out)."""

    base_url: str
    api_key: str = field(repr=False)
    timeout: float
    retry_limit: int
    retry_delay: float
    extra_models: tuple[str, ...]
    backend: Backend = DEFAULT_BACKEND
    #: Kling's own API: the access key (the token's issuer); ``api_key`` is then the secret key.
    access_key: str | None = None
    #: The connection's ``allow_private_video_hosts`` extra; None: allowed when the base URL's host is private.
    allow_private_video_hosts: bool | None = None
    #: The connection's ``max_video_bytes`` extra: the largest video stored.
    max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES
    #: The connection's ``requests_per_second`` extra: the requests a second that the waits of one triggerer
    #: send with these settings, all together (the asynchronous hook's; the synchronous one sends one at a time).
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    #: Every form of the key to register with the secrets masker (as given, and as sent).
    secrets: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def account(self) -> tuple[str, str, str | None, str]:
        """Who the service counts concurrency for: the key (with Kling's access key) at this base URL."""
        return (self.backend.name, self.base_url, self.access_key, self.api_key)


def _number(conn_id: str, name: str, value: Any, default: float, *, minimum: float, maximum: float) -> float:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not minimum <= number <= maximum:
        raise KlingValidationError(
            f"connection {conn_id!r} extra {name!r}",
            f"got {value!r}; allowed: a number from {minimum:g} to {maximum:g}",
        )
    return number


def _extras(conn_id: str, extra: Any) -> dict[str, Any]:
    """
    A connection's extras, read from its JSON here: ``Connection.extra_dejson`` masks them synchronously, which
    Airflow 3.0's triggerer refuses inside its event loop (every secret in them is masked by the hook instead).
    """
    if not extra:
        return {}
    try:
        extras = json.loads(extra) if isinstance(extra, str) else extra
    except ValueError as error:
        raise KlingValidationError(f"connection {conn_id!r} extra", f"is not JSON ({error})") from None
    if not isinstance(extras, dict):
        raise KlingValidationError(
            f"connection {conn_id!r} extra", f"got {type(extras).__name__}; allowed: a JSON object"
        )
    return extras


def _flag(conn_id: str, name: str, value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or value in ("true", "false"):
        return value in (True, "true")
    raise KlingValidationError(f"connection {conn_id!r} extra {name!r}", f"got {value!r}; allowed: true or false")


class _KlingHookBase(BaseHook):
    """
    What the sync and async hooks share: the connection, request building and the retry policy.

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

    conn_name_attr = "kling_conn_id"
    default_conn_name = "kling_default"
    conn_type = "kling"
    hook_name = "Kling"

    def __init__(
        self,
        kling_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.kling_conn_id = kling_conn_id
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.deadline = deadline
        self._token: tuple[str, float] | None = None

    def _settings_from(self, conn: Any) -> KlingSettings:
        """Read a connection; the caller registers the key with the secrets masker."""
        conn_id = self.kling_conn_id
        extra = _extras(conn_id, conn.extra)
        backend = BACKENDS.get(extra.get("backend") or DEFAULT_BACKEND.name)
        if backend is None:
            raise KlingValidationError(
                f"connection {conn_id!r} extra 'backend'",
                f"got {extra.get('backend')!r}; allowed: {', '.join(BACKENDS)}",
            )
        given_key = conn.password or extra.get("api_key")
        api_key = given_key.strip() if isinstance(given_key, str) else None
        if not api_key:
            what = "Kling secret key" if backend.auth == "jwt" else "CometAPI key"
            raise KlingAuthError(
                f"Connection {conn_id!r} has no API key set: put the {what} in its password (or its api_key extra)"
            )
        if not _HEADER_SAFE.fullmatch(api_key):
            raise KlingValidationError(
                f"connection {conn_id!r} password",
                "holds characters an HTTP header cannot carry (a space or a line break inside the key?); "
                "allowed: the key alone",
            )
        if backend.auth == "jwt" and not conn.login:
            raise KlingAuthError(
                f"Connection {conn_id!r} has no access key set: Kling's own API needs the access key in its login"
            )
        base_url = (conn.host or backend.default_base_url).rstrip("/")
        if "://" not in base_url:
            base_url = f"https://{base_url}"
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise KlingValidationError(
                f"connection {conn_id!r} host", f"got {base_url!r}; allowed: an http:// or https:// base URL"
            )
        if conn.port and parts.port is None:
            base_url = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{conn.port}"))
        models = extra.get("extra_models") or ()
        if isinstance(models, str):
            models = [name.strip() for name in models.split(",")]
        return KlingSettings(
            base_url=base_url,
            api_key=api_key,
            backend=backend,
            access_key=conn.login if backend.auth == "jwt" else None,
            timeout=self.timeout
            or _number(conn_id, "timeout", extra.get("timeout"), DEFAULT_TIMEOUT, minimum=0.001, maximum=3600),
            retry_limit=int(
                self.retry_limit
                if self.retry_limit is not None
                else _number(
                    conn_id,
                    "retry_limit",
                    extra.get("retry_limit"),
                    DEFAULT_RETRY_LIMIT,
                    minimum=0,
                    maximum=MAX_RETRY_LIMIT,
                )
            ),
            retry_delay=(
                self.retry_delay
                if self.retry_delay is not None
                else _number(
                    conn_id,
                    "retry_delay",
                    extra.get("retry_delay"),
                    DEFAULT_RETRY_DELAY,
                    minimum=0,
                    maximum=MAX_RETRY_DELAY,
                )
            ),
            allow_private_video_hosts=_flag(
                conn_id, "allow_private_video_hosts", extra.get("allow_private_video_hosts")
            ),
            max_video_bytes=int(
                _number(
                    conn_id,
                    "max_video_bytes",
                    extra.get("max_video_bytes"),
                    DEFAULT_MAX_VIDEO_BYTES,
                    minimum=1,
                    maximum=1 << 40,
                )
            ),
            requests_per_second=_number(
                conn_id,
                "requests_per_second",
                extra.get("requests_per_second"),
                DEFAULT_REQUESTS_PER_SECOND,
                minimum=MIN_REQUESTS_PER_SECOND,
                maximum=MAX_REQUESTS_PER_SECOND,
            ),
            secrets=tuple(dict.fromkeys((api_key, str(given_key)))),
            extra_models=tuple(name for name in models if name),
        )

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": f"airflow-provider-kling/{__version__}"}

    def _scrubbed(self, settings: KlingSettings) -> tuple[str, ...]:
        """What the text of an error must never show: the key, and the token made from it (Kling's own API)."""
        return (settings.api_key, self._token[0]) if self._token else (settings.api_key,)

    def _authorization(self, settings: KlingSettings) -> tuple[str, str | None]:
        """
        The ``Authorization`` header for the next request, and a newly made token to mask (or None).

        Kling's own API takes a JWT (HS256, ``iss`` the access key, ``exp`` now + 30 min, ``nbf``
        now - 5 s) signed with the secret key: one is made, kept, and renewed 5 minutes before it expires.
        """
        if settings.backend.auth != "jwt":
            return f"Bearer {settings.api_key}", None

        now = time.time()
        if self._token is not None and self._token[1] - JWT_RENEW_BEFORE > now:
            return f"Bearer {self._token[0]}", None
        import jwt

        expires = int(now) + JWT_LIFETIME
        token = jwt.encode(
            {"iss": settings.access_key, "exp": expires, "nbf": int(now) - 5},
            settings.api_key,
            algorithm="HS256",
            headers={"typ": "JWT"},
        )
        self._token = (token, expires)
        return f"Bearer {token}", token

    @staticmethod
    def _task_path(settings: KlingSettings, task_id: str, endpoint: Endpoint = TEXT2VIDEO) -> str:
        if not isinstance(task_id, str) or not task_id:
            raise KlingValidationError("task_id", f"got {task_id!r}; allowed: a non-empty Kling task id")
        return f"{settings.backend.path(endpoint.route)}/{quote(task_id, safe='')}"

    def _external_id_path(self, settings: KlingSettings, external_task_id: str, endpoint: Endpoint) -> str:
        """The path that answers the task submitted with this ``external_task_id``, where the backend has one."""
        if not settings.backend.lookup_by_external_task_id:
            raise KlingConfigurationError(
                f"The {settings.backend.name} backend cannot look tasks up by external_task_id "
                f"(asked for {external_task_id!r}): only by task_id"
            )
        return self._task_path(settings, external_task_id, endpoint)

    def _transport_error(self, settings: KlingSettings, error: Exception) -> KlingError:
        """The error for a request that got no answer: transient, or the wait's end when the deadline cut it."""
        text = redact(
            f"Could not get an answer from Kling at {settings.base_url}: {type(error).__name__}: {error}",
            self._scrubbed(settings),
        )
        if self.deadline is not None and time.time() >= self.deadline:
            return KlingWaitTimeoutError(f"The deadline passed during a request. {text}")
        return KlingTransientError(text, ambiguous=True)

    def _time_left(self, settings: KlingSettings, what: str) -> float:
        """Seconds the next request may take: the request timeout, cut to the deadline; past the deadline, raise."""
        if self.deadline is None:
            return settings.timeout
        remaining = self.deadline - time.time()
        if remaining <= 0:
            raise KlingWaitTimeoutError(f"The deadline passed before {what}")
        return min(settings.timeout, remaining)

    def _retry_policy(self, settings: KlingSettings, *, account_busy: bool = True) -> dict[str, Any]:
        """
        Keyword arguments for tenacity's ``Retrying`` and ``AsyncRetrying``: one policy for both.

        :param settings: the connection's settings.
        :param account_busy: whether a refusal for the account's concurrency is retried like any transient error
            (False: it is raised at once, for a wait for a free slot to take over).
        """
        from tenacity import retry_if_exception, stop_after_attempt, wait_exponential, wait_random

        # Parts that take the same arguments on every tenacity since 8.2 (wait_exponential_jitter's do not).
        backoff = wait_exponential(multiplier=settings.retry_delay, max=MAX_RETRY_DELAY) + wait_random(
            0, settings.retry_delay
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            retry_after = getattr(error, "retry_after", None)
            pause = min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else backoff(state)
            # Never past the deadline: the next attempt then finds it passed and raises KlingWaitTimeoutError.
            return pause if self.deadline is None else max(0.0, min(pause, self.deadline - time.time()))

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.warning(
                "Kling request failed (attempt %d of %d), retrying in %.1f s: %s",
                state.attempt_number,
                settings.retry_limit + 1,
                state.next_action.sleep if state.next_action else 0.0,
                error,
            )

        def retryable(error: BaseException) -> bool:
            return isinstance(error, KlingTransientError) and (account_busy or not is_account_busy(error))

        return {
            "retry": retry_if_exception(retryable),
            "stop": stop_after_attempt(settings.retry_limit + 1),
            "wait": wait,
            "before_sleep": log_retry,
            "reraise": True,
        }


class KlingHook(_KlingHookBase):
    """
    Synchronous hook for Kling's video tasks, through CometAPI or Kling's own API; one ``requests.Session`` per hook.

    :param kling_conn_id: the Airflow connection of type ``kling`` (password: the CometAPI key,
        host: the base URL, default ``https://api.cometapi.com``).
    :param timeout: seconds for each HTTP request; default: the connection's ``timeout`` extra, or 60.
    :param retry_limit: how many times a transient failure is retried inside the hook; default:
        the connection's ``retry_limit`` extra, or 5.
    :param retry_delay: base seconds of the exponential backoff; default: the connection's
        ``retry_delay`` extra, or 2.
    """

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's layout, for Airflow before 3.2 (later ones read the provider info)."""
        from airflow_provider_kling import CONNECTION_UI_FIELD_BEHAVIOUR

        return CONNECTION_UI_FIELD_BEHAVIOUR

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The connection form's own fields, for Airflow before 3.2 (later ones read the provider info)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from wtforms import IntegerField, StringField

        from airflow_provider_kling import CONNECTION_FIELDS

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
        from airflow.providers.common.compat.sdk import mask_secret

        settings = self._settings_from(self.get_connection(self.kling_conn_id))
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
        session.headers.update(self._headers())
        return session

    def _request_once(self, method: str, route: str, **kwargs: Any) -> Any:
        import requests
        import urllib3
        from airflow.providers.common.compat.sdk import mask_secret

        settings = self.settings
        url = f"{settings.base_url}{route}"
        timeout = self._time_left(settings, f"a request to {url}")
        authorization, new_token = self._authorization(settings)
        if new_token:
            mask_secret(new_token)
        body = CappedBody(MAX_ANSWER_BYTES, time.monotonic() + timeout, f"The answer from {url}")
        try:
            with self._session.request(
                method,
                url,
                timeout=timeout,
                verify=True,
                stream=True,
                headers={"Authorization": authorization},
                **kwargs,
            ) as response:
                while chunk := response.raw.read1(1 << 16, decode_content=True):
                    body.add(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, KlingTransientError) as error:
            raise self._transport_error(settings, error) from None
        return parse_response(
            response.status_code, response.headers, body.bytes(), secret=self._scrubbed(settings), url=url
        )

    def _request(self, method: str, route: str, **kwargs: Any) -> Any:
        from tenacity import Retrying

        return Retrying(**self._retry_policy(self.settings))(self._request_once, method, route, **kwargs)

    def validate(
        self, endpoint: str, *, extra_fields: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """
        Check a request without sending it; return the JSON body that would be sent.

        Images given as a path or ``ObjectStoragePath`` are read here and come back as Base64.

        :param endpoint: ``text2video``, ``image2video``, ``multi-image2video`` or ``video-extend``.
        :param extra_fields: fields the provider does not know yet, sent as given (see :meth:`create_task`).
        :param fields: the request fields (see :meth:`create_task`).
        """
        settings = self.settings
        return build_request(
            endpoint_named(endpoint),
            _inline_images(fields),
            backend=settings.backend,
            extra_models=settings.extra_models,
            extra_fields=extra_fields,
        )

    def validate_text2video(
        self, prompt: Any = None, *, extra_fields: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """
        :meth:`validate` for text-to-video.

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
        Submit a text-to-video task and return the task object (the answer's ``data``): :meth:`create_task`
        for ``text2video``.

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
            ``duration``, ``aspect_ratio``, ``callback_url``, ``external_task_id``) or ``video-extend``
            (``video_id``, ``prompt``, ``negative_prompt``, ``cfg_scale``, ``callback_url``). An image is
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

        from airflow_provider_kling.concurrency import slot_pause
        from airflow_provider_kling.contract import check_choice

        check_choice("on_unknown_submission", on_unknown_submission, UNKNOWN_SUBMISSION_POLICIES)
        kind = endpoint_named(endpoint)
        body = self.validate(endpoint, extra_fields=extra_fields, **fields)
        settings = self.settings
        if extra_fields:
            self.log.info("Sending fields the provider does not check: %s", json.dumps(loggable_body(extra_fields)))
        if body.get("multi_shot") and not settings.backend.documents_multi_shot:
            self.log.warning(
                "The %s backend documents no multi_shot: a relay that drops the shot fields renders one shot instead",
                settings.backend.name,
            )
        plan = _SubmissionPlan(settings, body.get("external_task_id"), on_unknown_submission)
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
        from airflow_provider_kling.contract import task_status

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
        import uuid

        import requests
        import urllib3
        from airflow.providers.common.compat.sdk import ObjectStoragePath
        from tenacity import Retrying

        from airflow_provider_kling.netguard import (
            MIN_DOWNLOAD_BYTES_PER_SECOND,
            check_video_url,
            is_private_host,
            looks_like_video,
        )

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
            partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
            try:
                with self._open_video(url, timeout, allow_private) as response:
                    expected = _content_length(response.headers)
                    self._check_video_answer(url, response, expected, settings)
                    until = started + timeout + (expected or settings.max_video_bytes) / MIN_DOWNLOAD_BYTES_PER_SECOND
                    if self.deadline is not None:
                        until = min(until, started + self.deadline - time.time())
                    body = CappedBody(settings.max_video_bytes, until, f"The video at {url}")
                    head = b""
                    # Through the filesystem, not ObjectStoragePath.open: Airflow's hook lineage would name the
                    # temporary file as the task's output (the operator reports the stored video itself).
                    with partial.fs.open(partial.path, "wb") as out:
                        while chunk := response.raw.read1(DOWNLOAD_CHUNK_BYTES, decode_content=True):
                            body.check(len(chunk))
                            if len(head) < 8:
                                head += chunk[:8]
                                if len(head) >= 8 and not looks_like_video(head):
                                    raise KlingUnexpectedAnswerError(f"The file at {url} is not an MP4 video")
                            out.write(chunk)
                encoded = response.headers.get("Content-Encoding", "identity") != "identity"
                if body.size < 8 or (expected is not None and not encoded and body.size != expected):
                    raise KlingTransientError(
                        f"Download of {url} got {body.size} bytes, the server announced {expected}"
                    )
                partial.rename(target)
                return body.size
            except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
                raise KlingTransientError(f"Download of {url} failed: {type(error).__name__}: {error}") from None
            finally:
                if partial.exists():
                    partial.unlink()

        size = Retrying(**self._retry_policy(settings))(fetch)
        self.log.info("Stored %s (%d bytes) at %s", url, size, target)
        return size

    def _open_video(self, url: str, timeout: float, allow_private: bool) -> requests.Response:
        """GET a video, following redirects one at a time, each checked like the first URL."""
        from urllib.parse import urljoin

        from airflow_provider_kling.netguard import MAX_REDIRECTS, check_video_url

        location = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._download_session.get(
                location, stream=True, timeout=timeout, allow_redirects=False, headers={"Accept-Encoding": "identity"}
            )
            if not response.is_redirect:
                return response
            response.close()
            location = check_video_url(
                urljoin(location, response.headers.get("Location", "")), allow_private=allow_private
            )
        raise KlingUnexpectedAnswerError(f"Download of {url} was redirected more than {MAX_REDIRECTS} times")

    @staticmethod
    def _check_video_answer(
        url: str, response: requests.Response, expected: int | None, settings: KlingSettings
    ) -> None:
        """Raise unless the video host's answer is a video that may be stored."""
        from airflow_provider_kling.contract import excerpt
        from airflow_provider_kling.netguard import MAX_ERROR_BYTES

        if response.status_code != 200:
            start = excerpt(response.raw.read(MAX_ERROR_BYTES), None)
            text = f"Download of {url} failed: HTTP {response.status_code}: {start!r}"
            retryable = response.status_code in (408, 425, 429) or response.status_code >= 500
            raise (KlingTransientError if retryable else KlingPermanentError)(text, status=response.status_code)
        if expected is not None and expected > settings.max_video_bytes:
            raise KlingUnexpectedAnswerError(
                f"The video at {url} is announced at {expected} bytes, over the connection's max_video_bytes "
                f"({settings.max_video_bytes})"
            )
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind.startswith("text/") or kind in ("application/json", "application/xml", "application/javascript"):
            raise KlingUnexpectedAnswerError(f"The file at {url} is {kind}, not a video")

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


def _content_length(headers: Any) -> int | None:
    """The ``Content-Length`` a server announced, or None when it announced none (or nonsense)."""
    value = headers.get("Content-Length")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _read_image(field: str, value: Any) -> Any:
    """An image named by a path or ``ObjectStoragePath``, read, checked and returned as Base64; others as given."""
    if not names_a_file(value):
        return value
    import base64

    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_kling.contract import IMAGE_MAX_BYTES

    text = str(value)
    try:
        path = (
            value
            if isinstance(value, ObjectStoragePath)
            else ObjectStoragePath(text if "://" in text else f"file://{text}")
        )
        with path.open("rb") as image:
            data = image.read(IMAGE_MAX_BYTES + 1)
    except Exception as error:  # any filesystem's refusal: missing file, permission, missing bucket...
        raise KlingValidationError(field, f"could not read {text!r} ({type(error).__name__}: {error})") from None
    return base64.b64encode(check_image_bytes(field, data)).decode()


def _inline_images(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The request fields with every image named by a path read into Base64 (before anything is sent)."""
    inlined = dict(fields)
    for name in ("image", "image_tail"):
        if name in inlined:
            inlined[name] = _read_image(name, inlined[name])
    if isinstance(inlined.get("image_list"), (list, tuple)):
        inlined["image_list"] = [
            {"image": _read_image(f"image_list[{index}]", listed_image(item))}
            for index, item in enumerate(inlined["image_list"])
        ]
    return inlined


class _SubmissionPlan:
    """
    What a submission does when its answer is lost, decided by the backend and the policy: shared by both hooks.

    :param settings: the connection's settings (its backend tells whether lookups by external id work).
    :param external_task_id: the id the submission carries, if any.
    :param policy: ``resubmit`` or ``fail``, for a backend that cannot be asked.
    """

    def __init__(self, settings: KlingSettings, external_task_id: str | None, policy: str) -> None:
        self.backend = settings.backend
        self.external_task_id = external_task_id
        self.policy = policy
        self.unsure = False  # whether an earlier attempt may have created the task

    def id_to_look_up(self, error: KlingError) -> str | None:
        """
        Decide after a failed attempt: the ``external_task_id`` to look the task up by first, or None to
        let ``error`` take its course (a retry or a failure). Raises where neither is safe.
        """
        lookup = self.external_task_id if self.backend.lookup_by_external_task_id else None
        if isinstance(error, KlingTransientError) and error.ambiguous:
            self.unsure = True
            if lookup:
                return lookup
            if self.policy == "fail":
                raise self._unknown(f"its answer was lost ({error})")
            return None
        if isinstance(error, KlingInvalidRequestError):
            # Kling's own API refuses an external_task_id it has seen: the task that holds it is this one's.
            if lookup:
                return lookup
            if self.unsure:  # a refusal after a lost answer: the earlier attempt may have landed
                raise self._unknown(f"it was sent again after a lost answer and refused ({error})")
        return None

    def _unknown(self, what: str) -> KlingSubmissionUnknownError:
        return KlingSubmissionUnknownError(
            f"A submission to Kling through {self.backend.name} may have created a task: {what}. "
            f"This backend cannot look tasks up by external_task_id ({self.external_task_id or 'none set'}), "
            "so it was not sent again. Look for the task in the service's console and wait on its task_id "
            "with KlingTaskSensor, or submit anew (on_unknown_submission='resubmit' sends again)",
            external_task_id=self.external_task_id,
        )


class _RequestBudget:
    """
    The rate at which the waits of one event loop send requests with one connection's settings, all together.

    Requests queue for their turn, first come first served; one pacer hands the turns out at most one
    :attr:`spacing` apart, counted from the last turn actually given, so that a stalled event loop
    does not release a burst of overdue turns when it resumes. A rate-limited answer pauses the
    turns until the service's ``Retry-After``, or the backoff, has passed: the waits back off
    together instead of each retrying into the limit on its own.

    :param requests_per_second: the most turns a second.
    """

    def __init__(self, requests_per_second: float) -> None:
        self.spacing = 1 / requests_per_second
        self.paused_until = 0.0  # time.monotonic() before which no turn is given
        self._last_turn = -math.inf  # time.monotonic() when the last turn was given
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pacer: asyncio.Task[None] | None = None

    async def take(self, deadline: float | None, what: str) -> None:
        """
        Wait for this request's turn; past ``deadline`` raise
        :class:`~airflow_provider_kling.exceptions.KlingWaitTimeoutError`, leaving the turn to the next request
        (a deadline already past is left to the caller's own check, which names what was not sent).

        :param deadline: the caller's deadline (``time.time()``), or None.
        :param what: the request waiting, for the error's message.
        """
        import asyncio

        if deadline is not None and time.time() >= deadline:
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._queue.append(turn)
        if self._pacer is None or self._pacer.done():
            self._pacer = loop.create_task(self._pace())
        try:
            # The turn itself is cancelled when the deadline cuts the wait: the pacer passes over it.
            await asyncio.wait_for(turn, None if deadline is None else deadline - time.time())
        except asyncio.TimeoutError:
            raise KlingWaitTimeoutError(f"The deadline passed before the request budget allowed {what}") from None

    async def _pace(self) -> None:
        """Give the queued requests their turns, one :attr:`spacing` apart and none during a pause, until none wait."""
        import asyncio

        while self._queue:
            while (wait := max(self._last_turn + self.spacing, self.paused_until) - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            while self._queue and self._queue[0].done():  # a turn its request no longer waits for
                self._queue.popleft()
            if self._queue:
                self._queue.popleft().set_result(None)
                self._last_turn = time.monotonic()

    def pause(self, seconds: float) -> None:
        """Give no turn for ``seconds`` from now (or until a longer pause ends)."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


@dataclass
class _ClientPool:
    """The clients shared by the hooks of one event loop with the same settings, and how many use them."""

    clients: list[httpx.AsyncClient]
    #: Taken around each exchange, at most :data:`ASYNC_POOL_SIZE` at once: a herd of polls queues on this cheap
    #: queue, not in httpcore's pools, whose bookkeeping is quadratic in the requests queued.
    in_flight: asyncio.Semaphore
    budget: _RequestBudget
    #: Exchanges under way on each client.
    busy: list[int]
    users: int = 0
    handed_out: int = 0

    @contextlib.asynccontextmanager
    async def exchange(self) -> AsyncIterator[httpx.AsyncClient]:
        """Hold a place in flight and the least busy client for one exchange (none ever queues in a client)."""
        async with self.in_flight:
            index = self.busy.index(min(self.busy))
            self.busy[index] += 1
            try:
                yield self.clients[index]
            finally:
                self.busy[index] -= 1


class _SharedAsyncClients:
    """
    The HTTP clients (``httpx.AsyncClient``) of each event loop and connection settings, counted by their users.

    A triggerer runs every trigger in one event loop: thousands of waits then share at most
    :data:`ASYNC_POOL_SIZE` kept-alive connections instead of each opening its own, and one
    request budget (the connection's ``requests_per_second``). Requests take the least busy of the
    :data:`ASYNC_CLIENTS` clients; they share one TLS context. The clients are closed when their
    last user lets go.
    """

    def __init__(self) -> None:
        import weakref

        # Weak keys: a loop that ends forgets its clients even if a user never let go.
        self._by_loop: weakref.WeakKeyDictionary[Any, dict[KlingSettings, _ClientPool]] = weakref.WeakKeyDictionary()

    def _pools(self) -> dict[KlingSettings, _ClientPool]:
        import asyncio

        return self._by_loop.setdefault(asyncio.get_running_loop(), {})

    def acquire(self, settings: KlingSettings) -> _ClientPool:
        """Count one more user of these settings' clients in the running loop, creating them for the first."""
        import asyncio

        import httpx

        pools = self._pools()
        pool = pools.get(settings)
        if pool is None:
            tls = httpx.create_ssl_context()
            limits = httpx.Limits(max_connections=ASYNC_CLIENT_CONNECTIONS)
            headers = _KlingHookBase._headers()
            # No timeout of their own: each request gives its own, cut to the hook's deadline.
            pool = pools[settings] = _ClientPool(
                [httpx.AsyncClient(headers=headers, limits=limits, verify=tls) for _ in range(ASYNC_CLIENTS)],
                in_flight=asyncio.Semaphore(ASYNC_POOL_SIZE),
                budget=_RequestBudget(settings.requests_per_second),
                busy=[0] * ASYNC_CLIENTS,
            )
        pool.users += 1
        return pool

    def pool(self, settings: KlingSettings) -> _ClientPool:
        """The acquired clients, in-flight bound and request budget of these settings in the running loop."""
        return self._pools()[settings]

    def next_client(self, settings: KlingSettings) -> httpx.AsyncClient:
        """Return the next of an acquired set of clients, in turn, so that requests spread evenly over them."""
        pool = self.pool(settings)
        pool.handed_out += 1
        return pool.clients[pool.handed_out % len(pool.clients)]

    async def release(self, settings: KlingSettings) -> None:
        """Count one user less; the last one closes the clients."""
        pools = self._pools()
        pool = pools.get(settings)
        if pool is None:
            return
        pool.users -= 1
        if pool.users <= 0:
            del pools[settings]
            for client in pool.clients:
                await client.aclose()


_shared_clients = _SharedAsyncClients()


class KlingAsyncHook(_KlingHookBase):
    """
    Asynchronous twin of :class:`KlingHook` for triggers: read-only calls over shared ``httpx`` clients.

    Every hook in one event loop with the same connection settings shares one set of clients with
    at most :data:`ASYNC_POOL_SIZE` connections in all, so a triggerer carrying thousands of waits keeps a
    bounded number of sockets; at most that many requests are in flight, the others wait on a queue
    of ours, and all of them share the connection's ``requests_per_second`` (a rate-limited answer
    pauses them all). The connection is looked up asynchronously, never blocking the triggerer's event loop.

    :param kling_conn_id: the Airflow connection of type ``kling``.
    :param timeout: seconds for each HTTP request; default: the connection's ``timeout`` extra, or 60.
    :param retry_limit: how many times a transient failure is retried inside the hook.
    :param retry_delay: base seconds of the exponential backoff.
    """

    def __init__(self, kling_conn_id: str = _KlingHookBase.default_conn_name, **kwargs: Any) -> None:
        super().__init__(kling_conn_id, **kwargs)
        self._settings: KlingSettings | None = None
        self._holds_clients = False

    async def get_settings(self) -> KlingSettings:
        """The connection's settings, looked up once, asynchronously."""
        if self._settings is None:
            from airflow.providers.common.compat.connection import get_async_connection

            from airflow_provider_kling._compat import amask_secret

            settings = self._settings_from(await get_async_connection(self.kling_conn_id, hook=self))
            for secret in settings.secrets:
                await amask_secret(secret)
            self._settings = settings
        return self._settings

    async def get_async_conn(self) -> httpx.AsyncClient:
        """Return the next of the HTTP clients shared in this event loop (held from first use until :meth:`close`)."""
        settings = await self.get_settings()
        await self._pool()
        return _shared_clients.next_client(settings)

    async def _pool(self) -> _ClientPool:
        """The clients, the bound on requests in flight and the request budget shared in this event loop."""
        settings = await self.get_settings()
        if not self._holds_clients:
            self._holds_clients = True
            return _shared_clients.acquire(settings)
        return _shared_clients.pool(settings)

    async def close(self) -> None:
        """Let go of the shared clients; the last hook to let go closes their connections."""
        if self._holds_clients and self._settings is not None:
            self._holds_clients = False
            await _shared_clients.release(self._settings)

    async def _request_once(self, method: str, route: str) -> Any:
        import asyncio

        import httpx

        from airflow_provider_kling._compat import amask_secret

        settings = await self.get_settings()
        pool = await self._pool()
        url = f"{settings.base_url}{route}"
        # The budget's queue may take longer than a request's timeout (many waits, a low rate): the deadline bounds it.
        await pool.budget.take(self.deadline, f"a request to {url}")
        timeout = self._time_left(settings, f"a request to {url}")
        authorization, new_token = self._authorization(settings)
        if new_token:
            await amask_secret(new_token)

        async def send() -> tuple[int, httpx.Headers, bytes]:
            body = CappedBody(MAX_ANSWER_BYTES, None, f"The answer from {url}")
            async with (
                pool.exchange() as client,
                client.stream(method, url, headers={"Authorization": authorization}, timeout=timeout) as response,
            ):
                async for chunk in response.aiter_bytes():
                    body.add(chunk)
            return response.status_code, response.headers, body.bytes()

        try:
            # The whole exchange, not each read, is bound by the timeout: a server that drips cannot hold it, and
            # the time spent waiting for a place in flight counts.
            status, headers, content = await asyncio.wait_for(send(), timeout)
        except (httpx.HTTPError, asyncio.TimeoutError) as error:
            raise self._transport_error(settings, error) from None
        try:
            return parse_response(status, headers, content, secret=self._scrubbed(settings), url=url)
        except KlingError as error:
            if is_rate_limited(error):
                # Every wait on these settings pauses, not only this one: the limit is the key's, not the wait's.
                retry_after = getattr(error, "retry_after", None)
                pool.budget.pause(settings.retry_delay if retry_after is None else min(retry_after, MAX_RETRY_AFTER))
            raise

    async def _request(self, method: str, route: str) -> Any:
        from tenacity import AsyncRetrying

        policy = self._retry_policy(await self.get_settings())
        return await AsyncRetrying(**policy)(self._request_once, method, route)

    async def get_task(self, task_id: str, endpoint: str = "text2video") -> dict[str, Any]:
        """
        Return the task object of a Kling task.

        :param task_id: the Kling ``task_id`` (on Kling's own API, also an ``external_task_id``).
        :param endpoint: the endpoint the task was submitted to (it is queried there).
        """
        path = self._task_path(await self.get_settings(), task_id, endpoint_named(endpoint))
        return parse_task(await self._request("GET", path))
