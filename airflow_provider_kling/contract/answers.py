"""What the service answers about a task: its status, its videos, and Kling's task object read out of any envelope."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_kling.contract.fields import TASK_ID_PATTERN, shown
from airflow_provider_kling.exceptions import KlingUnexpectedAnswerError


class TaskStatus(str, Enum):
    """A Kling task's status, a closed set: an answer with any other status is unexpected, never "ended"."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        """Whether the task may still change."""
        return self in (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)


ACTIVE_STATUSES = (TaskStatus.SUBMITTED.value, TaskStatus.PROCESSING.value)

SUCCEEDED = TaskStatus.SUCCEED.value

FAILED = TaskStatus.FAILED.value

#: The relay's own task statuses (CometAPI's second envelope), as Kling's.
_RELAY_STATUSES = {
    "NOT_START": TaskStatus.SUBMITTED,
    "SUBMITTED": TaskStatus.SUBMITTED,
    "QUEUED": TaskStatus.SUBMITTED,
    "IN_PROGRESS": TaskStatus.PROCESSING,
    "SUCCESS": TaskStatus.SUCCEED,
    "FAILURE": TaskStatus.FAILED,
}


def task_videos(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return the result video items of a task object that carry an ``http(s)`` URL (empty until it succeeds).

    The items are the task object's own, so that what is noted on them (``stored_path``) is in the result.
    """
    result = task.get("task_result")
    videos = result.get("videos") if isinstance(result, Mapping) else None
    if not isinstance(videos, list):
        return []
    return [
        video
        for video in videos
        if isinstance(video, dict)
        and isinstance(video.get("url"), str)
        and urlsplit(video["url"]).scheme in ("http", "https")
    ]


def task_video_urls(task: Mapping[str, Any]) -> list[str]:
    """Return the result video URLs (``http(s)`` only) of a task object (empty until it succeeds)."""
    return [video["url"] for video in task_videos(task)]


def audio_url(item: Mapping[str, Any]) -> str | None:
    """Return a result audio item's ``http(s)`` URL: its MP3's, else its WAV's; None when it has neither."""
    for key in ("url_mp3", "url_wav"):
        url = item.get(key)
        if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
            return url
    return None


def task_audios(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    """
    Return the result audio items of a task object (``task_result.audios``, from the ``audio`` endpoints) that carry
    an ``http(s)`` URL; the items are the task object's own, as :func:`task_videos`'.
    """
    result = task.get("task_result")
    audios = result.get("audios") if isinstance(result, Mapping) else None
    if not isinstance(audios, list):
        return []
    return [audio for audio in audios if isinstance(audio, dict) and audio_url(audio) is not None]


def succeeded_result_urls(task: Mapping[str, Any]) -> list[str]:
    """
    The result URLs of a task that ended ``succeed``: its videos', then its audios'; a success must name one.

    :raises KlingUnexpectedAnswerError: when it names none (retryable: a later read may).
    """
    urls = task_video_urls(task) + [str(audio_url(audio)) for audio in task_audios(task)]
    if not urls:
        raise KlingUnexpectedAnswerError(
            f"Kling says task {task.get('task_id')} succeeded, but it names no video or audio URL"
        )
    return urls


def task_status(task: Mapping[str, Any]) -> TaskStatus | None:
    """The task's status from the closed set, or None for a status the contract does not know."""
    try:
        return TaskStatus(task.get("task_status"))
    except ValueError:
        return None


def _task_id(value: Any, answer: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not TASK_ID_PATTERN.fullmatch(value):
        raise KlingUnexpectedAnswerError(f"The answer carries no usable task id (got {shown(value)}): {shown(answer)}")
    return value


def parse_task(data: Any, *, submitted: bool = False) -> dict[str, Any]:
    """
    Read Kling's task object out of an answer's ``data``, with a trusted ``task_id`` and ``task_status``.

    Takes Kling's task object, the relay's own envelope (``{"task_id", "status": "SUCCESS", "data":
    {<Kling's task>}}``) and the relay's OpenAI-style submit answer (``{"id": "task_..."}``). The
    task id must be letters, digits, ``_`` and ``-`` (it goes into paths and file names); a status
    outside :class:`TaskStatus` is left as given, for :func:`task_status` to call unknown; only the
    result videos with an ``http(s)`` URL are kept.

    :param data: the ``data`` of the answer (see :func:`parse_response`).
    :param submitted: the answer is a submission's: without any status, the task is ``submitted``.
    :raises KlingUnexpectedAnswerError: when the answer holds no task or no usable task id.
    """
    if not isinstance(data, Mapping):
        raise KlingUnexpectedAnswerError(f"The answer carries no task: {shown(data)}")
    task = dict(data)
    inner = task.get("data")
    if "task_status" not in task and isinstance(inner, Mapping):
        relay = task
        task = {**inner, "task_id": inner.get("task_id") or relay.get("task_id") or relay.get("id")}
        if "task_status" not in task and isinstance(relay.get("status"), str):
            mapped = _RELAY_STATUSES.get(relay["status"])
            task["task_status"] = mapped.value if mapped else relay["status"]
        if relay.get("fail_reason") and not task.get("task_status_msg"):
            task["task_status_msg"] = relay["fail_reason"]
    task["task_id"] = _task_id(task.get("task_id") or task.get("id"), data)
    if isinstance(task.get("task_result"), Mapping) and "videos" in task["task_result"]:
        # Only the video items that are usable (an http(s) URL) stay: videos[0] is always a real video.
        task["task_result"] = {**task["task_result"], "videos": task_videos(task)}
    if "task_status" not in task and submitted:
        task["task_status"] = TaskStatus.SUBMITTED.value
    return task
