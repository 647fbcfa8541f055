"""Errors as the service gives them: Kling's codes, CometAPI's gateway, any HTTP answer turned into data or an error."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingConfigurationError,
    KlingContentPolicyError,
    KlingError,
    KlingInvalidRequestError,
    KlingPermanentError,
    KlingTaskNotFoundError,
    KlingTransientError,
)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            import pendulum

            seconds = (parsedate_to_datetime(value) - pendulum.now("UTC")).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


#: What an error text must never show: the API key, or several secrets (the key and a token made from it).
Secrets = str | tuple[str, ...] | None


def excerpt(body: bytes, secret: Secrets) -> str:
    """The start of an answer, for an error message: ``secret`` is scrubbed before it is cut, so no part shows."""
    text = redact(body[: 64 << 10].decode("utf-8", "replace"), secret).strip()
    return text if len(text) <= 200 else f"{text[:200]}..."


def redact(text: str, secret: Secrets) -> str:
    """Replace every occurrence of ``secret`` (or of each of several) in ``text`` with ``***``."""
    for one in (secret,) if isinstance(secret, str) or secret is None else secret:
        if one:
            text = text.replace(one, "***")
    return text


_KLING_CODES: dict[int, tuple[type[KlingError], str]] = {
    **{code: (KlingAuthError, "authentication failed") for code in range(1000, 1005)},
    1100: (KlingAccountError, "account exception"),
    1101: (KlingAccountError, "account in arrears"),
    1102: (KlingAccountError, "resource pack depleted or expired"),
    1103: (KlingAccountError, "no permission for this resource or model"),
    1200: (KlingInvalidRequestError, "invalid request parameters"),
    1201: (KlingInvalidRequestError, "invalid parameter"),
    1202: (KlingInvalidRequestError, "invalid method or path"),
    1203: (KlingTaskNotFoundError, "task does not exist"),
    1300: (KlingContentPolicyError, "platform policy triggered"),
    1301: (KlingContentPolicyError, "content safety policy triggered"),
    1302: (KlingTransientError, "rate limited"),
    1303: (KlingTransientError, "parallel task over resource pack limit (the account's concurrency)"),
    1304: (KlingAccountError, "IP not on the allow list"),
    5000: (KlingTransientError, "server error"),
    5001: (KlingTransientError, "temporarily unavailable"),
    5002: (KlingTransientError, "server timeout"),
}

#: What to do about each account refusal that no wait fixes, named in its error.
_ACCOUNT_FIXES = {
    1100: "check the account's status in the Kling (or CometAPI) console",
    1101: "the account is in arrears: top up its balance, then run the task again",
    1102: "the account's resource pack is used up or has expired: buy or renew one, then run the task again",
    1304: "this machine's IP address is not on the key's allow list: add it there",
}

#: Kling's code for requests sent too fast, and for a submission over the account's concurrency.
REQUESTS_TOO_FAST_CODE = 1302

ACCOUNT_BUSY_CODE = 1303

#: Kling codes that say the request was refused before any work began (safe to send again).
_REFUSED_CODES = frozenset({REQUESTS_TOO_FAST_CODE, ACCOUNT_BUSY_CODE, 5001})

_TRANSIENT_STATUSES = frozenset({408, 425, 429})

#: Kling codes for requests over the account's rate or concurrency.
RATE_LIMIT_CODES = frozenset({REQUESTS_TOO_FAST_CODE, ACCOUNT_BUSY_CODE})


def is_account_busy(error: KlingError) -> bool:
    """
    Whether a submission was refused for the account's concurrency, before any work: Kling's 1303 ("parallel task
    over resource pack limit"), or an HTTP 429 that carries no Kling code (a relay's own text, which may stand for
    1303) and none of the account refusals that no wait fixes. Only time fixes it: a task on the account must end.

    :param error: what a submission raised.
    """
    return (
        isinstance(error, KlingTransientError)
        and not error.ambiguous
        and error.status == 429
        and error.code != REQUESTS_TOO_FAST_CODE
    )


def is_rate_limited(error: KlingError) -> bool:
    """Whether an error is the service asking for fewer requests: a transient HTTP 429, or Kling's 1302/1303."""
    return isinstance(error, KlingTransientError) and (error.status == 429 or error.code in RATE_LIMIT_CODES)


#: CometAPI's gateway: its string ``code``s (``{"code": "...", "message": "...", "data": null}``) and the
#: ``code`` or message of its own ``{"error": {...}}`` envelope, each with the error it means and what to do.
#: ``fail_to_fetch_task`` is not here: it wraps Kling's own answer, which is read instead.
GATEWAY_ERRORS: dict[str, tuple[type[KlingError], str]] = {
    "task_not_exist": (KlingTaskNotFoundError, "no such task (CometAPI knows tasks by their task_id only)"),
    "task_failed": (KlingInvalidRequestError, "Kling refused the task"),
    "model_not_found": (
        KlingAccountError,
        "the model is not offered to this key: choose another model_name or enable the model for the key in CometAPI",
    ),
    "invalid_request": (KlingInvalidRequestError, "CometAPI refused the request as invalid"),
}

#: Phrases in a gateway message that stand for a code (its 503 for a model the key cannot use has none).
_GATEWAY_PHRASES = {"no available channel": "model_not_found"}

_KEY_REFUSED = "The API key was refused (check the connection's password, and its login for Kling's own API)"

#: Words in a 429's text that mean the account is out of money, not over a rate: no retry helps.
_BALANCE_WORDS = ("balance", "quota", "insufficient", "余额", "额度")


def _is_transient_status(status: int) -> bool:
    return status in _TRANSIENT_STATUSES or status >= 500


def _kling_error(
    status: int, code: int, message: Any, request_id: Any, retry_after: float | None, secret: Secrets
) -> KlingError:
    error_class, meaning = _KLING_CODES.get(code, (None, "unknown error"))
    text = redact(f"Kling error: {message or meaning}", secret)
    if code in _ACCOUNT_FIXES:
        text = f"{text}: {_ACCOUNT_FIXES[code]}"
    if error_class is KlingAuthError:
        text = f"{_KEY_REFUSED}: {text}"
    details: dict[str, Any] = {"status": status, "code": code, "request_id": _field(request_id, secret)}
    if error_class is KlingTransientError or (error_class is None and _is_transient_status(status)):
        return KlingTransientError(text, retry_after=retry_after, ambiguous=code not in _REFUSED_CODES, **details)
    return (error_class or KlingPermanentError)(text, **details)


def _field(value: Any, secret: Secrets) -> str | None:
    """A code or request id from an answer, as it may go into a message: a short string, never the key."""
    if value is None or value == "":
        return None
    return redact(str(value), secret)[:80]


def _by_status(status: int, code: str | None, text: str, retry_after: float | None, *, structured: bool) -> KlingError:
    """An error the gateway or a proxy gave without a code we know: classified by its HTTP status and words."""
    details: dict[str, Any] = {"status": status, "code": code or None}
    if status == 429 and any(word in text.lower() for word in _BALANCE_WORDS):
        return KlingAccountError(f"{text} (the account's balance or quota is spent: top it up)", **details)
    if _is_transient_status(status):
        # A structured 429 was refused before any work; anything else may have been processed.
        refused = structured and status == 429
        return KlingTransientError(text, retry_after=retry_after, ambiguous=not refused, **details)
    if status in (401, 403):
        return KlingAuthError(f"{_KEY_REFUSED}: {text}", **details)
    return KlingPermanentError(text, **details)


def _gateway_error(
    status: int, code: str, message: Any, retry_after: float | None, secret: Secrets, url: str | None
) -> KlingError:
    """Read one of CometAPI's own errors: a string ``code``, or the ``{"error": {...}}`` envelope."""
    text = str(message or code or "no message")
    if code == "fail_to_fetch_task":
        # The relay passes Kling's non-200 answer on as a string: classify by what Kling said.
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        found = _from_payload(status, inner, retry_after, secret, url) if isinstance(inner, dict) else None
        if found is not None:
            return found
        if isinstance(inner, dict):  # Kling answered a success, yet the relay did not hand it on: read again
            return KlingTransientError(
                redact(f"CometAPI error: {text}", secret), retry_after=retry_after, status=status, code=code
            )
    code = next((meant for phrase, meant in _GATEWAY_PHRASES.items() if phrase in text.lower()), code)
    row = GATEWAY_ERRORS.get(code)
    if row is not None:
        error_class, advice = row
        return error_class(
            redact(f"CometAPI error: {text}: {advice}", secret), status=status, code=_field(code, secret)
        )
    return _by_status(
        status, _field(code, secret), redact(f"CometAPI error: {text}", secret), retry_after, structured=True
    )


def _from_payload(
    status: int, payload: dict[str, Any], retry_after: float | None, secret: Secrets, url: str | None
) -> KlingError | None:
    """The error a JSON answer carries, or None for a success."""
    code = payload.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        return _kling_error(status, code, payload.get("message"), payload.get("request_id"), retry_after, secret)
    if isinstance(code, str) and code.lower() not in ("", "0", "success", "succeed"):
        return _gateway_error(status, code, payload.get("message"), retry_after, secret, url)
    error = payload.get("error")
    if isinstance(error, dict):
        error_code = error.get("code")
        return _gateway_error(
            status, error_code if isinstance(error_code, str) else "", error.get("message"), retry_after, secret, url
        )
    if not 200 <= status < 300:
        text = redact(f"Error from Kling: {payload.get('message') or json.dumps(payload)[:200]}", secret)
        return _by_status(status, None, text, retry_after, structured=True)
    return None


def parse_response(
    status: int, headers: Mapping[str, str], body: bytes, *, secret: Secrets = None, url: str | None = None
) -> Any:
    """
    Turn one HTTP answer into the ``data`` it carries, or raise the matching :class:`KlingError`.

    Classification follows Kling's numeric ``code`` first (HTTP 429 is final for 1100-1102 and 1304,
    transient for 1302-1303), then CometAPI's string codes and ``{"error": {...}}`` envelope
    (:data:`GATEWAY_ERRORS`; ``fail_to_fetch_task`` is read as the Kling answer it wraps), then the
    HTTP status. A page that is not JSON on a 2xx or 3xx (the relay's web UI on a path it does not
    route) is a configuration error; on a 5xx it is transient. Messages show the status, the code,
    the service's message and request id, never ``secret``.

    :param status: the HTTP status code.
    :param headers: the response headers (``Retry-After`` is read from them).
    :param body: the raw response body.
    :param secret: the API key (or it and the token made from it), scrubbed from any text copied into an error.
    :param url: the URL asked, named in a configuration error.
    """
    retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
    try:
        payload = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        message = f"Unreadable answer from Kling (HTTP {status}): {excerpt(body, secret)!r}"
        looks_like_json = body.lstrip()[:1] in (b"{", b"[")
        if (status < 400 and body.strip() and not looks_like_json) or status in (404, 405):
            raise KlingConfigurationError(
                f"{message}. This is not the Kling API: check the connection's host (asked {url or 'the API'})",
                status=status,
            )
        if status < 300 or _is_transient_status(status):
            raise KlingTransientError(message, status=status, retry_after=retry_after, ambiguous=status != 429)
        raise KlingPermanentError(message, status=status)
    error = _from_payload(status, payload, retry_after, secret, url)
    if error is not None:
        raise error
    if "data" in payload:
        return payload["data"]
    if "task_id" in payload or "id" in payload:
        return payload  # the relay's OpenAI-style task object, not wrapped
    raise KlingTransientError(
        f"Answer from Kling has no data: {excerpt(body, secret)!r}", status=status, ambiguous=True
    )
