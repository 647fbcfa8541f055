"""Hooks for Kling text-to-video, through CometAPI or Kling's own API: all of the provider's HTTP lives here.

:class:`KlingHook` is synchronous (``requests``), for workers; :class:`KlingAsyncHook` is its
asynchronous twin (``httpx``), for triggers. Both build requests and read answers through
:mod:`airflow_provider_kling.contract`, ask the connection's :class:`~airflow_provider_kling.contract.Backend`
what the service can do, and retry through the same tenacity policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from airflow.sdk import BaseHook

from airflow_provider_kling import __version__
from airflow_provider_kling.contract import (
    BACKENDS,
    DEFAULT_BACKEND,
    TEXT2VIDEO_ROUTE,
    UNKNOWN_SUBMISSION_POLICIES,
    Backend,
    build_text2video_request,
    parse_response,
    parse_task,
    redact,
)
from airflow_provider_kling.exceptions import (
    KlingAuthError,
    KlingConfigurationError,
    KlingError,
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingTaskNotFoundError,
    KlingTransientError,
    KlingValidationError,
)

if TYPE_CHECKING:
    import httpx
    import requests
    from airflow.sdk import ObjectStoragePath
    from tenacity import RetryCallState

DOWNLOAD_CHUNK_BYTES = 1 << 20
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRY_LIMIT = 5
DEFAULT_RETRY_DELAY = 2.0
MAX_RETRY_DELAY = 60.0
#: The longest ``Retry-After`` honoured as given; longer asks are capped to this.
MAX_RETRY_AFTER = 300.0
#: One triggerer's connections to one Kling endpoint, shared by all of its waits, are split among
#: this many clients of :data:`ASYNC_CLIENT_CONNECTIONS` each: httpx's pool does work quadratic in
#: its size on every request (encode/httpcore#1035), so ten pools of ten cost far less than one of 100.
ASYNC_CLIENTS = 10
ASYNC_CLIENT_CONNECTIONS = 10
ASYNC_POOL_SIZE = ASYNC_CLIENTS * ASYNC_CLIENT_CONNECTIONS
#: Kling's own API: how long a signed token lives, and how long before its end a new one is made.
JWT_LIFETIME = 1800
JWT_RENEW_BEFORE = 300


@dataclass(frozen=True)
class KlingSettings:
    """What a hook needs from its connection, read once per hook."""

    base_url: str
    api_key: str
    timeout: float
    retry_limit: int
    retry_delay: float
    extra_models: tuple[str, ...]
    backend: Backend = DEFAULT_BACKEND
    #: Kling's own API: the access key (the token's issuer); ``api_key`` is then the secret key.
    access_key: str | None = None


def _number(conn_id: str, name: str, value: Any, default: float, *, minimum: float) -> float:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum:
        raise KlingValidationError(
            f"connection {conn_id!r} extra {name!r}", f"got {value!r}; allowed: a number >= {minimum:g}"
        )
    return number


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
        a ``Retry-After`` header takes precedence. Default: the connection's ``retry_delay`` extra, or 2.
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
    ) -> None:
        super().__init__()
        self.kling_conn_id = kling_conn_id
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self._token: tuple[str, float] | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form's layout (also declared in the provider info for the React UI)."""
        from airflow_provider_kling import CONNECTION_UI_FIELD_BEHAVIOUR

        return CONNECTION_UI_FIELD_BEHAVIOUR

    def _settings_from(self, conn: Any) -> KlingSettings:
        """Read a connection; the caller registers the key with the secrets masker."""
        conn_id = self.kling_conn_id
        extra = conn.extra_dejson
        backend = BACKENDS.get(extra.get("backend") or DEFAULT_BACKEND.name)
        if backend is None:
            raise KlingValidationError(
                f"connection {conn_id!r} extra 'backend'",
                f"got {extra.get('backend')!r}; allowed: {', '.join(BACKENDS)}",
            )
        api_key = conn.password or extra.get("api_key")
        if not api_key or not isinstance(api_key, str):
            what = "Kling secret key" if backend.auth == "jwt" else "CometAPI key"
            raise KlingAuthError(
                f"Connection {conn_id!r} has no API key set: put the {what} in its password (or its api_key extra)"
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
            base_url = f"{base_url}:{conn.port}"
        models = extra.get("extra_models") or ()
        if isinstance(models, str):
            models = [name.strip() for name in models.split(",")]
        return KlingSettings(
            base_url=base_url,
            api_key=api_key,
            backend=backend,
            access_key=conn.login if backend.auth == "jwt" else None,
            timeout=self.timeout or _number(conn_id, "timeout", extra.get("timeout"), DEFAULT_TIMEOUT, minimum=0.001),
            retry_limit=int(
                self.retry_limit
                if self.retry_limit is not None
                else _number(conn_id, "retry_limit", extra.get("retry_limit"), DEFAULT_RETRY_LIMIT, minimum=0)
            ),
            retry_delay=(
                self.retry_delay
                if self.retry_delay is not None
                else _number(conn_id, "retry_delay", extra.get("retry_delay"), DEFAULT_RETRY_DELAY, minimum=0)
            ),
            extra_models=tuple(name for name in models if name),
        )

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": f"airflow-provider-kling/{__version__}"}

    def _authorization(self, settings: KlingSettings) -> tuple[str, str | None]:
        """
        The ``Authorization`` header for the next request, and a newly made token to mask (or None).

        Kling's own API takes a JWT (HS256, ``iss`` the access key, ``exp`` now + 30 min, ``nbf``
        now - 5 s) signed with the secret key: one is made, kept, and renewed 5 minutes before it expires.
        """
        if settings.backend.auth != "jwt":
            return f"Bearer {settings.api_key}", None
        import time

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
    def _task_path(settings: KlingSettings, task_id: str) -> str:
        if not isinstance(task_id, str) or not task_id:
            raise KlingValidationError("task_id", f"got {task_id!r}; allowed: a non-empty Kling task id")
        return f"{settings.backend.path(TEXT2VIDEO_ROUTE)}/{quote(task_id, safe='')}"

    def _external_id_path(self, settings: KlingSettings, external_task_id: str) -> str:
        """The path that answers the task submitted with this ``external_task_id``, where the backend has one."""
        if not settings.backend.lookup_by_external_task_id:
            raise KlingConfigurationError(
                f"The {settings.backend.name} backend cannot look tasks up by external_task_id "
                f"(asked for {external_task_id!r}): only by task_id"
            )
        return self._task_path(settings, external_task_id)

    def _transport_error(self, settings: KlingSettings, error: Exception) -> KlingTransientError:
        text = redact(
            f"Could not get an answer from Kling at {settings.base_url}: {type(error).__name__}: {error}",
            settings.api_key,
        )
        return KlingTransientError(text, ambiguous=True)

    def _retry_policy(self, settings: KlingSettings) -> dict[str, Any]:
        """Keyword arguments for tenacity's ``Retrying`` and ``AsyncRetrying``: one policy for both."""
        from tenacity import retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

        backoff = wait_exponential_jitter(
            multiplier=settings.retry_delay, max=MAX_RETRY_DELAY, jitter=settings.retry_delay
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            retry_after = getattr(error, "retry_after", None)
            return min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else backoff(state)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.warning(
                "Kling request failed (attempt %d of %d), retrying in %.1f s: %s",
                state.attempt_number,
                settings.retry_limit + 1,
                state.upcoming_sleep,
                error,
            )

        return {
            "retry": retry_if_exception_type(KlingTransientError),
            "stop": stop_after_attempt(settings.retry_limit + 1),
            "wait": wait,
            "before_sleep": log_retry,
            "reraise": True,
        }


class KlingHook(_KlingHookBase):
    """
    Synchronous hook for Kling text-to-video through CometAPI; one ``requests.Session`` per hook.

    :param kling_conn_id: the Airflow connection of type ``kling`` (password: the CometAPI key,
        host: the base URL, default ``https://api.cometapi.com``).
    :param timeout: seconds for each HTTP request; default: the connection's ``timeout`` extra, or 60.
    :param retry_limit: how many times a transient failure is retried inside the hook; default:
        the connection's ``retry_limit`` extra, or 5.
    :param retry_delay: base seconds of the exponential backoff; default: the connection's
        ``retry_delay`` extra, or 2.
    """

    @cached_property
    def settings(self) -> KlingSettings:
        """The connection's settings, looked up once; the key is masked in every log from then on."""
        from airflow.sdk.log import mask_secret

        settings = self._settings_from(self.get_connection(self.kling_conn_id))
        mask_secret(settings.api_key)
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
        from airflow.sdk.log import mask_secret

        settings = self.settings
        authorization, new_token = self._authorization(settings)
        if new_token:
            mask_secret(new_token)
        url = f"{settings.base_url}{route}"
        try:
            response = self._session.request(
                method, url, timeout=settings.timeout, verify=True, headers={"Authorization": authorization}, **kwargs
            )
        except requests.RequestException as error:
            raise self._transport_error(settings, error) from None
        return parse_response(
            response.status_code, response.headers, response.content, secret=settings.api_key, url=url
        )

    def _request(self, method: str, route: str, **kwargs: Any) -> Any:
        from tenacity import Retrying

        return Retrying(**self._retry_policy(self.settings))(self._request_once, method, route, **kwargs)

    def validate_text2video(self, prompt: Any, **fields: Any) -> dict[str, Any]:
        """
        Check a request without sending it; return the JSON body that would be sent.

        :param prompt: the text prompt (1 to 500 characters).
        :param fields: the other request fields (see :meth:`create_text2video`).
        """
        return build_text2video_request({"prompt": prompt, **fields}, extra_models=self.settings.extra_models)

    def create_text2video(
        self, prompt: str, *, on_unknown_submission: str = "resubmit", **fields: Any
    ) -> dict[str, Any]:
        """
        Submit a text-to-video task and return the task object (the answer's ``data``).

        Every field is validated before anything is sent; only the fields given are sent. A refused
        submission (429 with 1302/1303, 503 with 5001) is sent again after a pause. When a
        submission's answer is lost (a timeout, a reset, a gateway's 502/504/524), whether it created
        a task is unknown: on a backend that looks tasks up by ``external_task_id`` (Kling's own
        API) the hook asks, and sends again only if there is none; elsewhere (CometAPI) it follows
        ``on_unknown_submission``. On Kling's own API, a submission refused because its
        ``external_task_id`` is taken returns the task that holds it.

        :param prompt: the text prompt, 1 to 500 characters.
        :param on_unknown_submission: where the backend cannot be asked, ``resubmit`` sends the
            submission again with the same ``external_task_id`` (a second generation may be paid
            for), ``fail`` raises :class:`~airflow_provider_kling.exceptions.KlingSubmissionUnknownError`
            (no retry, nothing more paid).
        :param fields: any of ``negative_prompt`` (at most 200 characters), ``model_name``,
            ``cfg_scale`` (0 to 1), ``mode`` (``std``/``pro``), ``aspect_ratio`` (``16:9``,
            ``9:16``, ``1:1``), ``duration`` (5 or 10), ``sound`` (``on``/``off``),
            ``camera_control``, ``callback_url`` (https) and ``external_task_id``.
        """
        from tenacity import Retrying

        from airflow_provider_kling.contract import check_choice

        check_choice("on_unknown_submission", on_unknown_submission, UNKNOWN_SUBMISSION_POLICIES)
        body = self.validate_text2video(prompt, **fields)
        settings = self.settings
        plan = _SubmissionPlan(settings, body.get("external_task_id"), on_unknown_submission)
        route = settings.backend.path(TEXT2VIDEO_ROUTE)

        def submit() -> dict[str, Any]:
            try:
                return parse_task(self._request_once("POST", route, json=body), submitted=True)
            except KlingError as error:
                if not plan.may_look_up(error):
                    raise
                found = self._find_once(plan.external_task_id)
                if found is None:
                    raise
                self.log.info(
                    "Found task %s by external_task_id %s: not submitting it again",
                    found["task_id"],
                    plan.external_task_id,
                )
                return found

        return Retrying(**self._retry_policy(settings))(submit)

    def get_task(self, task_id: str) -> dict[str, Any]:
        """
        Return the task object of a Kling task.

        :param task_id: the Kling ``task_id`` (on Kling's own API, also an ``external_task_id``).
        """
        return parse_task(self._request("GET", self._task_path(self.settings, task_id)))

    def _find_once(self, external_task_id: str) -> dict[str, Any] | None:
        """One lookup by ``external_task_id``, without retries of its own (it runs inside a submission's)."""
        try:
            return parse_task(self._request_once("GET", self._external_id_path(self.settings, external_task_id)))
        except KlingTaskNotFoundError:
            return None

    def find_task(self, external_task_id: str) -> dict[str, Any] | None:
        """
        Return the task submitted with this ``external_task_id``, or None if there is none.

        Only Kling's own API answers this (CometAPI looks tasks up by ``task_id`` only: there it
        raises :class:`~airflow_provider_kling.exceptions.KlingConfigurationError`).

        :param external_task_id: the id given at submit.
        """
        from tenacity import Retrying

        return Retrying(**self._retry_policy(self.settings))(self._find_once, external_task_id)

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
        answer = self._request("GET", backend.path(TEXT2VIDEO_ROUTE), params={"pageNum": page, "pageSize": page_size})
        return [parse_task(task) for task in answer or []]

    @cached_property
    def _download_session(self) -> requests.Session:
        # Result URLs live on a CDN: the API key must never travel there, so this session has none.
        import requests

        return requests.Session()

    def download_video(self, url: str, destination: ObjectStoragePath | str) -> int:
        """
        Store a result video at ``destination`` and return its size in bytes.

        The body is streamed in 1 MiB chunks (constant memory) into a hidden temporary file beside
        the destination, checked against the server's ``Content-Length``, then renamed into place,
        so no half-written file ever carries the final name. Failures are retried like API calls.

        :param url: the video URL from the task result; only ``http`` and ``https`` are accepted.
        :param destination: where to store it: an ``ObjectStoragePath`` or URL (``file://``,
            ``s3://``, ``gs://``... as the installed providers support).
        """
        import uuid

        import requests
        from airflow.sdk import ObjectStoragePath
        from tenacity import Retrying

        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise KlingValidationError("url", f"got {url!r}; allowed: an http:// or https:// URL")
        target = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(destination)
        target.parent.mkdir(parents=True, exist_ok=True)

        def fetch() -> int:
            partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
            try:
                with self._download_session.get(url, stream=True, timeout=self.settings.timeout) as response:
                    if response.status_code != 200:
                        parse_response(response.status_code, response.headers, response.content)
                    expected = response.headers.get("Content-Length")
                    size = 0
                    with partial.open("wb") as out:
                        for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                            out.write(chunk)
                            size += len(chunk)
                if expected is not None and size != int(expected):
                    raise KlingTransientError(f"Download of {url} got {size} bytes, the server announced {expected}")
                partial.rename(target)
                return size
            except requests.RequestException as error:
                raise KlingTransientError(f"Download of {url} failed: {type(error).__name__}: {error}") from None
            finally:
                if partial.exists():
                    partial.unlink()

        size = Retrying(**self._retry_policy(self.settings))(fetch)
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

    def may_look_up(self, error: KlingError) -> bool:
        """
        Decide after a failed attempt: False to let ``error`` take its course (a retry or a failure),
        True to look the task up by ``external_task_id`` first. Raises where neither is safe.
        """
        if isinstance(error, KlingTransientError) and error.ambiguous:
            self.unsure = True
            if self.backend.lookup_by_external_task_id and self.external_task_id:
                return True
            if self.policy == "fail":
                raise self._unknown(f"its answer was lost ({error})")
            return False
        if isinstance(error, KlingInvalidRequestError):
            # Kling's own API refuses an external_task_id it has seen: the task that holds it is this one's.
            if self.backend.lookup_by_external_task_id and self.external_task_id:
                return True
            if self.unsure:  # a refusal after a lost answer: the earlier attempt may have landed
                raise self._unknown(f"it was sent again after a lost answer and refused ({error})")
        return False

    def _unknown(self, what: str) -> KlingSubmissionUnknownError:
        return KlingSubmissionUnknownError(
            f"A submission to Kling through {self.backend.name} may have created a task: {what}. "
            f"This backend cannot look tasks up by external_task_id ({self.external_task_id or 'none set'}), "
            "so it was not sent again. Look for the task in the service's console and wait on its task_id "
            "with KlingTaskSensor, or submit anew (on_unknown_submission='resubmit' sends again)",
            external_task_id=self.external_task_id,
        )


@dataclass
class _ClientPool:
    """The clients shared by the hooks of one event loop with the same settings, and how many use them."""

    clients: list[httpx.AsyncClient]
    users: int = 0
    handed_out: int = 0


class _SharedAsyncClients:
    """
    The HTTP clients (``httpx.AsyncClient``) of each event loop and connection settings, counted by their users.

    A triggerer runs every trigger in one event loop: thousands of waits then share at most
    :data:`ASYNC_POOL_SIZE` kept-alive connections instead of each opening its own. Requests take
    the :data:`ASYNC_CLIENTS` clients in turn; they share one TLS context. The clients are closed
    when their last user lets go.
    """

    def __init__(self) -> None:
        import weakref

        # Weak keys: a loop that ends forgets its clients even if a user never let go.
        self._by_loop: weakref.WeakKeyDictionary[Any, dict[KlingSettings, _ClientPool]] = weakref.WeakKeyDictionary()

    def _pools(self) -> dict[KlingSettings, _ClientPool]:
        import asyncio

        return self._by_loop.setdefault(asyncio.get_running_loop(), {})

    def acquire(self, settings: KlingSettings) -> None:
        """Count one more user of these settings' clients in the running loop, creating them for the first."""
        import httpx

        pools = self._pools()
        pool = pools.get(settings)
        if pool is None:
            tls = httpx.create_ssl_context()
            limits = httpx.Limits(
                max_connections=ASYNC_CLIENT_CONNECTIONS, max_keepalive_connections=ASYNC_CLIENT_CONNECTIONS
            )
            headers = _KlingHookBase._headers()
            pool = pools[settings] = _ClientPool(
                [
                    httpx.AsyncClient(headers=headers, timeout=settings.timeout, limits=limits, verify=tls)
                    for _ in range(ASYNC_CLIENTS)
                ]
            )
        pool.users += 1

    def next_client(self, settings: KlingSettings) -> httpx.AsyncClient:
        """Return the next of an acquired set of clients, in turn, so that requests spread evenly over them."""
        pool = self._pools()[settings]
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
    bounded number of sockets. The connection is looked up with ``aget_connection``, never
    blocking the triggerer's event loop.

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
            from airflow.sdk.log import amask_secret

            settings = self._settings_from(await self.aget_connection(self.kling_conn_id))
            await amask_secret(settings.api_key)
            self._settings = settings
        return self._settings

    async def get_async_conn(self) -> httpx.AsyncClient:
        """Return the next of the HTTP clients shared in this event loop (held from first use until :meth:`close`)."""
        settings = await self.get_settings()
        if not self._holds_clients:
            _shared_clients.acquire(settings)
            self._holds_clients = True
        return _shared_clients.next_client(settings)

    async def close(self) -> None:
        """Let go of the shared clients; the last hook to let go closes their connections."""
        if self._holds_clients and self._settings is not None:
            self._holds_clients = False
            await _shared_clients.release(self._settings)

    async def _request_once(self, method: str, route: str, **kwargs: Any) -> Any:
        import httpx
        from airflow.sdk.log import amask_secret

        settings = await self.get_settings()
        client = await self.get_async_conn()
        authorization, new_token = self._authorization(settings)
        if new_token:
            await amask_secret(new_token)
        url = f"{settings.base_url}{route}"
        try:
            response = await client.request(method, url, headers={"Authorization": authorization}, **kwargs)
        except httpx.HTTPError as error:
            raise self._transport_error(settings, error) from None
        return parse_response(
            response.status_code, response.headers, response.content, secret=settings.api_key, url=url
        )

    async def _request(self, method: str, route: str, **kwargs: Any) -> Any:
        from tenacity import AsyncRetrying

        policy = self._retry_policy(await self.get_settings())
        return await AsyncRetrying(**policy)(self._request_once, method, route, **kwargs)

    async def get_task(self, task_id: str) -> dict[str, Any]:
        """
        Return the task object of a Kling task.

        :param task_id: the Kling ``task_id`` (on Kling's own API, also an ``external_task_id``).
        """
        return parse_task(await self._request("GET", self._task_path(await self.get_settings(), task_id)))
