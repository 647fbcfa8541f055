"""The hook's downloads of result files: one GET whose redirects are each checked, streamed into place."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from airflow_provider_kling.exceptions import KlingTransientError, KlingUnexpectedAnswerError
from airflow_provider_kling.netguard import (
    MAX_ERROR_BYTES,
    MAX_REDIRECTS,
    MIN_DOWNLOAD_BYTES_PER_SECOND,
    CappedBody,
    check_video_answer,
    check_video_url,
    content_length,
    missing_media,
)

if TYPE_CHECKING:
    import requests
    from airflow.providers.common.compat.sdk import ObjectStoragePath

#: How much of a file one read takes.
DOWNLOAD_CHUNK_BYTES = 1 << 20


def open_video(session: requests.Session, url: str, timeout: float, allow_private: bool) -> requests.Response:
    """
    GET a result file, following redirects one at a time, each checked like the first URL; return the response.

    :param session: a session that carries no API key.
    :param url: the file's URL (already checked).
    :param timeout: the connect and read timeout, in seconds.
    :param allow_private: whether private, loopback and link-local hosts may be fetched.
    """
    import requests
    import urllib3

    location = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            response = session.get(
                location, stream=True, timeout=timeout, allow_redirects=False, headers={"Accept-Encoding": "identity"}
            )
            if not response.is_redirect:
                return response
            response.close()
            location = check_video_url(
                urljoin(location, response.headers.get("Location", "")), allow_private=allow_private
            )
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise KlingTransientError(f"Download of {url} failed: {type(error).__name__}: {error}") from None
    raise KlingUnexpectedAnswerError(f"Download of {url} was redirected more than {MAX_REDIRECTS} times")


def stream_into(
    response: requests.Response,
    url: str,
    target: ObjectStoragePath,
    max_bytes: int,
    due: float,
    deadline: float | None,
) -> int:
    """
    Stream a result file into a hidden temporary file beside ``target``, check it, rename it into place; return its
    size. Only what is the file its name says is kept (an MP4's first box, an MP3's or WAV's header).

    :param response: the open answer (see :func:`open_video`).
    :param url: the file's URL, for messages.
    :param target: where to store it.
    :param max_bytes: the largest file taken.
    :param due: when the request's timeout ends (``time.monotonic()``); the whole download may take until then plus
        1 s per MiB announced.
    :param deadline: when it must be done by (``time.time()``), if ever.
    """
    import requests
    import urllib3

    started = time.monotonic()
    partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
    try:
        check_video_answer(
            url, response.status_code, response.headers, lambda: response.raw.read(MAX_ERROR_BYTES), max_bytes
        )
        expected = content_length(response.headers)
        until = due + (expected or max_bytes) / MIN_DOWNLOAD_BYTES_PER_SECOND
        if deadline is not None:
            until = min(until, started + deadline - time.time())
        body = CappedBody(max_bytes, until, f"The video at {url}")
        head = b""
        # Through the filesystem, not ObjectStoragePath.open: Airflow's hook lineage would name the temporary file as
        # the task's output (the operator reports the stored file itself).
        with partial.fs.open(partial.path, "wb") as out:
            while chunk := response.raw.read1(DOWNLOAD_CHUNK_BYTES, decode_content=True):
                body.check(len(chunk))
                if len(head) < 8:
                    head += chunk[:8]
                    if len(head) >= 8 and (wanted := missing_media(head, target.name)):
                        raise KlingUnexpectedAnswerError(f"The file at {url} is not {wanted}")
                out.write(chunk)
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        if body.size < 8 or (expected is not None and not encoded and body.size != expected):
            raise KlingTransientError(f"Download of {url} got {body.size} bytes, the server announced {expected}")
        partial.rename(target)
        return body.size
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise KlingTransientError(f"Download of {url} failed: {type(error).__name__}: {error}") from None
    finally:
        if partial.exists():
            partial.unlink()
