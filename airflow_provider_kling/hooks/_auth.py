"""How a request proves who sends it: the CometAPI key as a Bearer token, or a JWT for Kling's own API."""

from __future__ import annotations

import time

from airflow_provider_kling._constants import JWT_LIFETIME, JWT_RENEW_BEFORE
from airflow_provider_kling.hooks._settings import KlingSettings


class KlingAuth:
    """
    The ``Authorization`` header of one hook's requests. Kling's own API takes a JWT (HS256, ``iss`` the access key,
    ``exp`` now + 30 min, ``nbf`` now - 5 s) signed with the secret key: one is made, kept, and renewed 5 minutes
    before it expires.
    """

    def __init__(self) -> None:
        self._token: tuple[str, float] | None = None

    def header(self, settings: KlingSettings) -> tuple[str, str | None]:
        """
        Return the ``Authorization`` header for the next request, and a newly made token to mask (or None).

        :param settings: the connection's settings.
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

    def secrets(self, settings: KlingSettings) -> tuple[str, ...]:
        """
        Return what the text of an error must never show: the key, and the token made from it (Kling's own API).

        :param settings: the connection's settings.
        """
        return (settings.api_key, self._token[0]) if self._token else (settings.api_key,)
