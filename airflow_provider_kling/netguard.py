"""What the provider lets in from the network: how much of an answer it reads, and which hosts it downloads from.

Sans-IO, like :mod:`airflow_provider_kling.contract`: the hooks feed it what they read.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from airflow_provider_kling.contract import excerpt
from airflow_provider_kling.exceptions import (
    KlingPermanentError,
    KlingTransientError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
)

#: The largest API answer read: a task object is a few KB; anything larger is not Kling's.
MAX_ANSWER_BYTES = 1 << 20
#: The most of an error answer from a video host that is read (to quote its start).
MAX_ERROR_BYTES = 64 << 10
#: The largest result video stored, unless the connection's ``max_video_bytes`` extra says otherwise.
DEFAULT_MAX_VIDEO_BYTES = 4 << 30
#: The slowest average rate a video download may keep up, beyond its ``timeout``, before it is given up.
MIN_DOWNLOAD_BYTES_PER_SECOND = 1 << 20
#: How many redirects a video download follows, each checked like the first URL.
MAX_REDIRECTS = 5
#: ISO base media file (MP4) box types that a video may start with; anything else is not a video.
_MP4_FIRST_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"styp")


class CappedBody:
    """
    Collect the chunks of one answer, refusing more than ``limit`` bytes or reading past ``until``.

    :param limit: the most bytes allowed.
    :param until: the ``time.monotonic()`` past which reading stops, or None.
    :param what: what is being read, for the error message.
    """

    def __init__(self, limit: int, until: float | None, what: str) -> None:
        self.limit = limit
        self.until = until
        self.what = what
        self.size = 0
        self._chunks: list[bytes] = []

    def check(self, chunk_size: int) -> None:
        """Count ``chunk_size`` more bytes; raise when over the size or past the time."""
        self.size += chunk_size
        if self.size > self.limit:
            raise KlingUnexpectedAnswerError(f"{self.what} is larger than {self.limit} bytes: not read further")
        if self.until is not None and time.monotonic() > self.until:
            raise KlingTransientError(
                f"{self.what} did not arrive in time: {self.size} bytes read, then gave up", ambiguous=True
            )

    def add(self, chunk: bytes) -> None:
        """Keep one more chunk."""
        self.check(len(chunk))
        self._chunks.append(chunk)

    def bytes(self) -> bytes:
        """Everything kept."""
        return b"".join(self._chunks)


def is_private_host(host: str) -> bool:
    """Whether ``host`` is, or resolves to, a loopback, link-local, private or otherwise non-public address."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False  # unresolvable: the download fails on its own, with the resolver's words
    return any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def check_video_url(url: object, *, allow_private: bool) -> str:
    """
    Check a result video URL before anything is fetched from it; return it.

    Only ``http`` and ``https``, and (unless ``allow_private``) only hosts on public addresses: a
    service answer must not make the worker fetch from its own network.
    """
    if not isinstance(url, str) or (parts := urlsplit(url)).scheme not in ("http", "https") or not parts.hostname:
        raise KlingValidationError("url", f"got {str(url)[:100]!r}; allowed: an http:// or https:// URL")
    if not allow_private and is_private_host(parts.hostname):
        raise KlingValidationError(
            "url",
            f"got {url[:100]!r}, whose host is on a loopback, link-local or private address; allowed: public "
            "hosts (set the connection's allow_private_video_hosts extra to true to allow it)",
        )
    return url


def looks_like_video(start: bytes) -> bool:
    """Whether the first bytes of a download are an MP4's (an ISO base media box)."""
    return len(start) >= 8 and start[4:8] in _MP4_FIRST_BOXES


def missing_media(start: bytes, name: str) -> str | None:
    """
    Return what a download stored as ``name`` should have been, when its first 8 bytes are not that; else None.

    :param start: the download's first bytes (at least 8).
    :param name: the file's name: ``.mp3`` (an ID3 tag or an MPEG audio frame), ``.wav`` (RIFF WAVE), else MP4.
    """
    if name.endswith(".mp3"):
        mp3 = start.startswith(b"ID3") or (len(start) >= 2 and start[0] == 0xFF and start[1] & 0xE0 == 0xE0)
        return None if mp3 else "an MP3 audio"
    if name.endswith(".wav"):
        return None if start.startswith(b"RIFF") else "a WAV audio"
    return None if looks_like_video(start) else "an MP4 video"


def content_length(headers: Mapping[str, str]) -> int | None:
    """Return the ``Content-Length`` a server announced, or None when it announced none (or nonsense)."""
    value = headers.get("Content-Length")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def check_video_answer(
    url: str, status: int, headers: Mapping[str, str], error_start: Callable[[], bytes], max_bytes: int
) -> None:
    """
    Raise unless a video host's answer is a video that may be stored.

    :param url: the URL asked.
    :param status: the answer's HTTP status.
    :param headers: the answer's headers.
    :param error_start: reads the start of the body (at most :data:`MAX_ERROR_BYTES`), to quote in an error.
    :param max_bytes: the connection's ``max_video_bytes``.
    """
    if status != 200:
        start = excerpt(error_start(), None)
        text = f"Download of {url} failed: HTTP {status}: {start!r}"
        retryable = status in (408, 425, 429) or status >= 500
        raise (KlingTransientError if retryable else KlingPermanentError)(text, status=status)
    expected = content_length(headers)
    if expected is not None and expected > max_bytes:
        raise KlingUnexpectedAnswerError(
            f"The video at {url} is announced at {expected} bytes, over the connection's max_video_bytes ({max_bytes})"
        )
    kind = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind.startswith("text/") or kind in ("application/json", "application/xml", "application/javascript"):
        raise KlingUnexpectedAnswerError(f"The file at {url} is {kind}, not a video")
