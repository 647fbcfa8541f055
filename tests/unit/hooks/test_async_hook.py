"""
Fast: the triggerer's ``KlingAsyncHook`` against the sandbox over loopback. It must fail as the sync hook fails,
answer for answer, and share its HTTP clients without one hook's ``close`` taking them from another.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import SECRET_KEY, connection_json
from support.answer_tables import GATEWAY_TABLE, _relay, with_status

from airflow_provider_kling import __version__
from airflow_provider_kling.exceptions import KlingError, KlingTransientError, KlingWaitTimeoutError
from airflow_provider_kling.hooks.kling import KlingAsyncHook, KlingHook
from airflow_provider_kling.sandbox import Fault


def _run(scenario: Callable[..., Awaitable[Any]], *hooks: KlingAsyncHook) -> Any:
    """Run a scenario over these hooks in a fresh event loop, closing them all at the end."""

    async def run() -> Any:
        try:
            return await scenario(*hooks)
        finally:
            for hook in hooks:
                await hook.close()

    return asyncio.run(run())


def _async_error(hook: KlingAsyncHook, task_id: str = "770001") -> KlingError:
    async def ask(hook: KlingAsyncHook) -> None:
        await hook.get_task(task_id)

    with pytest.raises(KlingError) as raised:
        _run(ask, hook)
    return raised.value


def _sync_error(hook: KlingHook, task_id: str = "770001") -> KlingError:
    with pytest.raises(KlingError) as raised:
        hook.get_task(task_id)
    return raised.value


ECHOED_KEY = pytest.param(401, _relay("", f"invalid key {SECRET_KEY}"), id="key-echoed")


@pytest.mark.parametrize("status, body", [param.values[:2] for param in GATEWAY_TABLE] + [ECHOED_KEY.values])
def test_the_async_hook_fails_with_the_sync_hooks_error_for_every_answer(cometapi_sandbox, status, body):
    cometapi_sandbox.inject(Fault(status=status, body=body, method="GET", count=2))
    sync = _sync_error(KlingHook(retry_limit=0))
    asynchronous = _async_error(KlingAsyncHook(retry_limit=0))
    assert (type(asynchronous), str(asynchronous)) == (type(sync), str(sync))
    assert SECRET_KEY not in str(asynchronous)


def test_each_hook_names_the_cause_of_a_request_that_got_no_answer(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(closed))
    for error, kind in (
        (_sync_error(KlingHook(retry_limit=0)), "ConnectionError"),
        (_async_error(KlingAsyncHook(retry_limit=0)), "ClientConnectorError"),
    ):
        assert isinstance(error, KlingTransientError) and error.ambiguous
        assert re.match(rf"Could not get an answer from Kling at {closed}: {kind}: \S", str(error)), error


def test_a_request_cut_by_the_deadline_ends_the_wait_naming_the_request(cometapi_sandbox):
    # The deadline leaves time to start the request on a busy machine; the answer comes well after it.
    cometapi_sandbox.inject(Fault(status=200, body="{}", delay=5.0, method="GET", count=2))
    prefix = f"The deadline passed during a request. Could not get an answer from Kling at {cometapi_sandbox.url}: "
    for error, kind in (
        (_sync_error(KlingHook(deadline=time.time() + 1.5)), "ReadTimeout"),
        (_async_error(KlingAsyncHook(deadline=time.time() + 1.5)), "TimeoutError"),
    ):
        assert isinstance(error, KlingWaitTimeoutError) and str(error).startswith(prefix + kind), error


def test_past_the_deadline_no_request_is_sent_and_the_error_names_the_one_not_sent(cometapi_sandbox):
    error = _async_error(KlingAsyncHook(deadline=time.time() - 1), task_id="770002")
    assert isinstance(error, KlingWaitTimeoutError)
    assert (
        str(error)
        == f"The deadline passed before a request to {cometapi_sandbox.url}/kling/v1/videos/text2video/770002"
    )
    assert cometapi_sandbox.requests == []


def test_the_async_hook_sends_the_providers_user_agent_and_masks_the_token_it_makes(kling_sandbox):
    from airflow.providers.common.compat.sdk import redact

    hook = KlingAsyncHook()

    async def ask(hook: KlingAsyncHook) -> str:
        with pytest.raises(KlingError):
            await hook.get_task("770003")
        return hook._auth._token[0]

    token = _run(ask, hook)
    assert redact(f"token {token}") == "token ***"
    assert kling_sandbox.user_agents == {f"airflow-provider-kling/{__version__}": 1}


def test_a_hook_that_never_sent_a_request_or_closes_twice_leaves_the_shared_clients_to_the_others(cometapi_sandbox):
    task_id = KlingHook().create_text2video("a fox")["task_id"]

    async def scenario(user: KlingAsyncHook, idle: KlingAsyncHook, twice: KlingAsyncHook) -> None:
        await user.get_task(task_id)
        await idle.get_settings()
        await idle.close()
        await twice.get_task(task_id)
        await twice.close()
        await twice.close()
        session = await user.get_async_conn()
        assert not session.closed
        assert (await user.get_task(task_id))["task_id"] == task_id

    _run(scenario, KlingAsyncHook(), KlingAsyncHook(), KlingAsyncHook())


def test_an_answer_slower_than_5_s_is_awaited_within_the_connections_timeout(cometapi_sandbox):
    # HTTP clients give up on their own defaults unless told otherwise: the connection's timeout (60 s by default)
    # must reach the client.
    task_id = KlingHook().create_text2video("a fox")["task_id"]
    cometapi_sandbox.inject(Fault(status=200, body=with_status(task_id, "processing"), delay=5.3, method="GET"))

    async def ask(hook: KlingAsyncHook) -> dict[str, Any]:
        return await hook.get_task(task_id)

    assert _run(ask, KlingAsyncHook(retry_limit=0))["task_status"] == "processing"


def test_both_hooks_scrub_the_jwt_they_made_from_an_error_that_echoes_it(kling_sandbox):
    # A service that echoes the Authorization header must not put a 30-minute credential into an exception,
    # whose text reaches alerts and failure callbacks.
    sync = KlingHook(retry_limit=0)
    _sync_error(sync)  # makes the token
    kling_sandbox.inject(Fault(status=400, code=1201, message=f"echo Bearer {sync._auth._token[0]}"))
    assert str(_sync_error(sync)).startswith("Kling error: echo Bearer *** (HTTP=400, code=1201")

    asynchronous = KlingAsyncHook(retry_limit=0)

    async def ask_twice(hook: KlingAsyncHook) -> str:
        with pytest.raises(KlingError):
            await hook.get_task("770001")
        kling_sandbox.inject(Fault(status=400, code=1201, message=f"echo Bearer {hook._auth._token[0]}"))
        with pytest.raises(KlingError) as raised:
            await hook.get_task("770001")
        return str(raised.value)

    assert _run(ask_twice, asynchronous).startswith("Kling error: echo Bearer *** (HTTP=400, code=1201")
