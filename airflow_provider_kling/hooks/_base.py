"""What the sync and async hooks share: the connection's settings, auth, paths, the retry policy, and one request core.

A request is prepared (its URL, its timeout cut to the hook's deadline, its ``Authorization``) and its answer finished
(read through the contract, the key scrubbed from any error) here, once; :class:`~airflow_provider_kling.hooks.kling.
KlingHook` and :class:`~airflow_provider_kling.hooks.kling.KlingAsyncHook` only send it and sleep.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_kling import __version__
from airflow_provider_kling._constants import DEFAULT_CONN_ID, MAX_RETRY_AFTER, MAX_RETRY_DELAY
from airflow_provider_kling.contract import TEXT2VIDEO, Endpoint, is_account_busy, parse_response, redact
from airflow_provider_kling.exceptions import (
    KlingAuthError,
    KlingConfigurationError,
    KlingError,
    KlingTransientError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks._auth import KlingAuth
from airflow_provider_kling.hooks._settings import KlingSettings, read_settings

if TYPE_CHECKING:
    from tenacity import RetryCallState


#: Whose keys each backend takes, for a refused key's message.
BACKEND_KEYS = {"cometapi": "a CometAPI key", "kling": "Kling's own access and secret keys"}


def _is_tls_failure(error: BaseException) -> bool:
    """Whether a transport error is, or was caused by, a TLS failure (``ssl.SSLError`` anywhere in its chain)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) or type(seen).__name__ == "SSLError":
            return True
        seen = (
            seen.__cause__
            or seen.__context__
            or next((arg for arg in seen.args if isinstance(arg, BaseException)), None)
        )
    return False


class Request(NamedTuple):
    """One request, prepared: where it goes, how long it may take, and the headers it carries."""

    url: str
    timeout: float
    headers: dict[str, str]
    #: A token made for it (Kling's own API), for the caller to register with the secrets masker; or None.
    new_token: str | None


class KlingHookBase(BaseHook):
    """
    What :class:`~airflow_provider_kling.hooks.kling.KlingHook` and
    :class:`~airflow_provider_kling.hooks.kling.KlingAsyncHook` share. Its arguments are theirs, documented on
    :class:`~airflow_provider_kling.hooks.kling.KlingHook`.
    """

    conn_name_attr = "kling_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "kling"
    hook_name = "Kling"

    def __init__(
        self,
        kling_conn_id: str = DEFAULT_CONN_ID,
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
        self._auth = KlingAuth()

    def _read_settings(self, conn: Any) -> KlingSettings:
        """Read the connection with this hook's own timeout and retries; the caller masks the key."""
        return read_settings(
            self.kling_conn_id, conn, timeout=self.timeout, retry_limit=self.retry_limit, retry_delay=self.retry_delay
        )

    @staticmethod
    def headers() -> dict[str, str]:
        """Return the headers every API request carries (the key goes on each request, not here)."""
        return {"Accept": "application/json", "User-Agent": f"airflow-provider-kling/{__version__}"}

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

    def _time_left(self, settings: KlingSettings, what: str) -> float:
        """Seconds the next request may take: the request timeout, cut to the deadline; past the deadline, raise."""
        if self.deadline is None:
            return settings.timeout
        remaining = self.deadline - time.time()
        if remaining <= 0:
            raise KlingWaitTimeoutError(f"The deadline passed before {what}")
        return min(settings.timeout, remaining)

    def _prepare(self, settings: KlingSettings, route: str) -> Request:
        """Prepare a request to ``route``: its URL, its timeout (cut to the deadline) and its ``Authorization``."""
        url = f"{settings.base_url}{route}"
        timeout = self._time_left(settings, f"a request to {url}")
        authorization, new_token = self._auth.header(settings)
        return Request(url, timeout, {"Authorization": authorization}, new_token)

    def _finish(
        self, settings: KlingSettings, request: Request, status: int, headers: Mapping[str, str], body: bytes
    ) -> Any:
        """Read an answer into the ``data`` it carries, or raise its error, the key scrubbed from its text."""
        try:
            return parse_response(status, headers, body, secret=self._auth.secrets(settings), url=request.url)
        except KlingAuthError as error:  # a key of the other service is refused too: say which service was asked
            name = settings.backend.name
            other = next(other for other in BACKEND_KEYS if other != name)
            raise KlingAuthError(
                f"{error.message}; the connection's backend is {name!r}, which takes {BACKEND_KEYS[name]} "
                f"(for {BACKEND_KEYS[other]}, set its backend extra to {other!r})",
                status=error.status,
                code=error.code,
                request_id=error.request_id,
            ) from None

    def _transport_error(self, settings: KlingSettings, error: Exception) -> KlingError:
        """
        The error for a request that got no answer: transient, or the wait's end when the deadline cut it; a TLS
        failure is the connection's to fix (a plain-HTTP service asked over https://, or a certificate not trusted).
        """
        text = redact(
            f"Could not get an answer from Kling at {settings.base_url}: {type(error).__name__}: {error}",
            self._auth.secrets(settings),
        )
        if _is_tls_failure(error):
            return KlingConfigurationError(
                f"{text}. TLS with {settings.base_url} failed: check the connection's host (a service that speaks "
                "plain HTTP needs http:// in it; a host without a scheme is taken as https://)"
            )
        if self.deadline is not None and time.time() >= self.deadline:
            return KlingWaitTimeoutError(f"The deadline passed during a request. {text}")
        return KlingTransientError(text, ambiguous=True)

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
