"""A ``kling`` connection read once into frozen settings: the backend, the key, the base URL and every extra checked."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_kling._constants import (
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_TIMEOUT,
    MAX_REQUESTS_PER_SECOND,
    MAX_RETRY_DELAY,
    MAX_RETRY_LIMIT,
    MAX_TIMEOUT,
    MIN_REQUESTS_PER_SECOND,
)
from airflow_provider_kling.contract import BACKENDS, DEFAULT_BACKEND, Backend
from airflow_provider_kling.exceptions import KlingAuthError, KlingValidationError
from airflow_provider_kling.netguard import DEFAULT_MAX_VIDEO_BYTES

#: What an HTTP header can carry of a key: visible ASCII, no spaces or line breaks.
HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


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


def read_settings(
    conn_id: str, conn: Any, *, timeout: float | None, retry_limit: int | None, retry_delay: float | None
) -> KlingSettings:
    """
    Read a ``kling`` connection into settings, each extra checked; the caller registers the key with the masker.

    :param conn_id: the connection's id, named in errors.
    :param conn: the connection (Airflow's ``Connection``, either SDK's or core's).
    :param timeout: the hook's own ``timeout``, or None for the connection's.
    :param retry_limit: the hook's own ``retry_limit``, or None for the connection's.
    :param retry_delay: the hook's own ``retry_delay``, or None for the connection's.
    """
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
    if not HEADER_SAFE.fullmatch(api_key):
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
        timeout=timeout
        or _number(conn_id, "timeout", extra.get("timeout"), DEFAULT_TIMEOUT, minimum=0.001, maximum=MAX_TIMEOUT),
        retry_limit=int(
            retry_limit
            if retry_limit is not None
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
            retry_delay
            if retry_delay is not None
            else _number(
                conn_id,
                "retry_delay",
                extra.get("retry_delay"),
                DEFAULT_RETRY_DELAY,
                minimum=0,
                maximum=MAX_RETRY_DELAY,
            )
        ),
        allow_private_video_hosts=_flag(conn_id, "allow_private_video_hosts", extra.get("allow_private_video_hosts")),
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
