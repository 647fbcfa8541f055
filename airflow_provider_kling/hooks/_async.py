"""The asynchronous hook, for triggers: one set of HTTP clients and one request budget per event loop and settings.

A triggerer runs every trigger in one event loop: its thousands of waits share at most
:data:`~airflow_provider_kling._constants.ASYNC_POOL_SIZE` kept-alive connections per connection settings, and the
connection's ``requests_per_second``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import math
import ssl
import time
import urllib.request
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_kling._compat import amask_secret
from airflow_provider_kling._constants import (
    ASYNC_POOL_SIZE,
    CONNECTION_REUSE_SECONDS,
    DEFAULT_CONN_ID,
    MAX_RETRY_AFTER,
)
from airflow_provider_kling.contract import endpoint_named, is_rate_limited, parse_task
from airflow_provider_kling.exceptions import KlingError, KlingTransientError, KlingWaitTimeoutError
from airflow_provider_kling.hooks._auth import KlingAuth
from airflow_provider_kling.hooks._base import KlingHookBase
from airflow_provider_kling.hooks._settings import KlingSettings
from airflow_provider_kling.netguard import MAX_ANSWER_BYTES, CappedBody

if TYPE_CHECKING:
    import aiohttp


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
        if deadline is not None and time.time() >= deadline:
            return
        now = time.monotonic()
        if not self._queue and now >= max(self._last_turn + self.spacing, self.paused_until):
            self._last_turn = now  # nobody waits and the turn is due: given at once
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._queue.append(turn)
        if self._pacer is None or self._pacer.done():
            self._pacer = loop.create_task(self._pace())
        if deadline is None:
            await turn
            return
        # The turn itself is cancelled when the deadline cuts the wait (the pacer passes over it): a timer, not a
        # task per waiting request, which thousands of them would each keep alive while they queue.
        cut: list[bool] = []
        timer = loop.call_later(max(0.0, deadline - time.time()), lambda: cut.append(turn.cancel()))
        try:
            await turn
        except asyncio.CancelledError:
            if cut:
                raise KlingWaitTimeoutError(f"The deadline passed before the request budget allowed {what}") from None
            raise
        finally:
            timer.cancel()

    async def _pace(self) -> None:
        """Give the queued requests their turns, one :attr:`spacing` apart and none during a pause, until none wait."""
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
class _SessionPool:
    """The HTTP session shared by the hooks of one event loop with the same settings, and how many use it."""

    #: At most :data:`~airflow_provider_kling._constants.ASYNC_POOL_SIZE` connections, and as many requests in flight:
    #: a herd of polls queues for a connection inside the session, each within its request's timeout.
    session: aiohttp.ClientSession
    budget: _RequestBudget
    #: The ``Authorization`` of every request: on Kling's own API one token, made and masked once for every wait.
    auth: KlingAuth
    #: The environment's proxy for the base URL (``HTTPS_PROXY``, ``NO_PROXY``...), read once, as the workers'
    #: ``requests`` honour it; aiohttp's own reading of the environment would read ``~/.netrc`` on every request.
    proxy: str | None = None
    users: int = 0


def _proxy_for(url: str) -> str | None:
    """Return the proxy the environment names for ``url``, or None."""
    host = urlsplit(url).hostname or ""
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(host):
        return None
    return proxies.get(urlsplit(url).scheme) or proxies.get("all")


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context of every session: certifi's certificates, as ``requests`` trusts them in the workers."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class _SharedSessions:
    """
    The HTTP session (``aiohttp.ClientSession``) of each event loop and connection settings, counted by its users.

    A triggerer runs every trigger in one event loop: thousands of waits then share at most
    :data:`~airflow_provider_kling._constants.ASYNC_POOL_SIZE` kept-alive connections instead of each opening its
    own, and one request budget (the connection's ``requests_per_second``). The session is closed when its last user
    lets go.
    """

    def __init__(self) -> None:
        # Weak keys: a loop that ends forgets its sessions even if a user never let go.
        self._by_loop: weakref.WeakKeyDictionary[Any, dict[KlingSettings, _SessionPool]] = weakref.WeakKeyDictionary()

    def _pools(self) -> dict[KlingSettings, _SessionPool]:
        return self._by_loop.setdefault(asyncio.get_running_loop(), {})

    def acquire(self, settings: KlingSettings) -> _SessionPool:
        """Count one more user of these settings' session in the running loop, creating it for the first."""
        import aiohttp

        pools = self._pools()
        pool = pools.get(settings)
        if pool is None:
            # No timeout of its own (aiohttp's default gives up after 5 minutes): each request gives its own, cut to
            # the hook's deadline.
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=ASYNC_POOL_SIZE, ssl=_tls()),
                headers=KlingHookBase.headers(),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            pool = pools[settings] = _SessionPool(
                session,
                budget=_RequestBudget(settings.requests_per_second),
                auth=KlingAuth(),
                proxy=_proxy_for(settings.base_url),
            )
        pool.users += 1
        return pool

    def pool(self, settings: KlingSettings) -> _SessionPool:
        """The acquired session, in-flight bound and request budget of these settings in the running loop."""
        return self._pools()[settings]

    async def release(self, settings: KlingSettings) -> None:
        """Count one user less; the last one closes the session."""
        pools = self._pools()
        pool = pools.get(settings)
        if pool is None:
            return
        pool.users -= 1
        if pool.users <= 0:
            del pools[settings]
            await pool.session.close()


_shared_sessions = _SharedSessions()


class _RecentSettings:
    """
    The settings the hooks of one event loop read lately, by connection id and the hook's own overrides: a triggerer
    starting thousands of waits on one connection looks it up (a thread each, and a secrets backend's round trip),
    reads it and masks its key once every :data:`~airflow_provider_kling._constants.CONNECTION_REUSE_SECONDS`, not
    once a wait.
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[float, KlingSettings]]] = (
            weakref.WeakKeyDictionary()
        )

    async def get(self, hook: KlingAsyncHook) -> KlingSettings:
        """Return the hook's settings: those read in this loop in the last seconds, or read anew."""
        from airflow.providers.common.compat.connection import get_async_connection

        recent = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        key = (hook.kling_conn_id, hook.timeout, hook.retry_limit, hook.retry_delay)
        found = recent.get(key)
        if found is not None and time.monotonic() - found[0] < CONNECTION_REUSE_SECONDS:
            return found[1]
        settings = hook._read_settings(await get_async_connection(hook.kling_conn_id, hook=hook))
        for secret in settings.secrets:
            await amask_secret(secret)
        recent[key] = (time.monotonic(), settings)
        return settings


_recent_settings = _RecentSettings()


class KlingAsyncHook(KlingHookBase):
    """
    Call Kling from a trigger: the asynchronous twin of :class:`~airflow_provider_kling.hooks.kling.KlingHook`, whose
    arguments it takes, for read-only calls over a shared ``aiohttp`` session.

    Every hook in one event loop with the same connection settings shares one session with
    at most :data:`~airflow_provider_kling._constants.ASYNC_POOL_SIZE` connections in all, so a triggerer carrying
    thousands of waits keeps a bounded number of sockets; at most that many requests are in flight, the others wait
    on a queue of ours, and all of them share the connection's ``requests_per_second`` (a rate-limited answer
    pauses them all). The connection is looked up asynchronously, never blocking the triggerer's event loop.
    """

    def __init__(self, kling_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(kling_conn_id, **kwargs)
        self._settings: KlingSettings | None = None
        self._holds_clients = False

    async def get_settings(self) -> KlingSettings:
        """Return the connection's settings, looked up once (the waits of a triggerer share recent lookups)."""
        if self._settings is None:
            self._settings = await _recent_settings.get(self)
        return self._settings

    async def get_async_conn(self) -> aiohttp.ClientSession:
        """Return the HTTP session shared in this event loop (held from first use until :meth:`close`)."""
        return (await self._pool()).session

    async def _pool(self) -> _SessionPool:
        """The session, the bound on requests in flight and the request budget shared in this event loop."""
        settings = await self.get_settings()
        if not self._holds_clients:
            self._holds_clients = True
            pool = _shared_sessions.acquire(settings)
            self._auth = pool.auth
            return pool
        return _shared_sessions.pool(settings)

    async def close(self) -> None:
        """Let go of the shared session; the last hook to let go closes its connections."""
        if self._holds_clients and self._settings is not None:
            self._holds_clients = False
            await _shared_sessions.release(self._settings)

    async def _request_once(self, method: str, route: str) -> Any:
        import aiohttp

        settings = await self.get_settings()
        pool = await self._pool()
        # The budget's queue may take longer than a request's timeout (many waits, a low rate): the deadline bounds it.
        await pool.budget.take(self.deadline, f"a request to {settings.base_url}{route}")
        request = self._prepare(settings, route)
        if request.new_token:
            await amask_secret(request.new_token)

        body = CappedBody(MAX_ANSWER_BYTES, None, f"The answer from {request.url}")
        try:
            # The whole exchange, not each read, is bound by the timeout (aiohttp's total): a server that drips
            # cannot hold it, and the time spent waiting for a connection counts. No redirect is followed: the API
            # answers where it is asked, and a redirect is a wrong base URL.
            async with pool.session.request(
                method,
                request.url,
                headers=request.headers,
                allow_redirects=False,
                proxy=pool.proxy,
                timeout=aiohttp.ClientTimeout(total=request.timeout),
            ) as response:
                async for chunk in response.content.iter_chunked(1 << 16):  # decompressed: the cap is on what is read
                    body.add(chunk)
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise self._transport_error(settings, error) from None
        content = body.bytes()
        try:
            return self._finish(settings, request, status, headers, content)
        except KlingError as error:
            if is_rate_limited(error):
                # Every wait on these settings pauses, not only this one: the limit is the key's, not the wait's.
                retry_after = getattr(error, "retry_after", None)
                pool.budget.pause(settings.retry_delay if retry_after is None else min(retry_after, MAX_RETRY_AFTER))
            raise

    async def _request(self, method: str, route: str) -> Any:
        try:
            # An answer needs no retry machinery: thousands of waits poll through here, and tenacity's per-call
            # bookkeeping would cost as much as the request. A transient failure is its first attempt.
            return await self._request_once(method, route)
        except KlingTransientError as error:
            failed = [error]
        from tenacity import AsyncRetrying

        async def attempt() -> Any:
            if failed:  # the first attempt's outcome, for the policy to judge as any other's
                raise failed.pop()
            return await self._request_once(method, route)

        return await AsyncRetrying(**self._retry_policy(await self.get_settings()))(attempt)

    async def get_task(self, task_id: str, endpoint: str = "text2video") -> dict[str, Any]:
        """
        Return the task object of a Kling task.

        :param task_id: the Kling ``task_id`` (on Kling's own API, also an ``external_task_id``).
        :param endpoint: the endpoint the task was submitted to (it is queried there).
        """
        path = self._task_path(await self.get_settings(), task_id, endpoint_named(endpoint))
        return parse_task(await self._request("GET", path))
