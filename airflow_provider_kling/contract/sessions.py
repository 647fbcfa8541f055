"""Editing sessions, opened before some tasks (multi-elements, the two-step lip-sync): how, and their answers read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import check_kling_id, check_media_url, shown
from airflow_provider_kling.exceptions import KlingUnexpectedAnswerError, KlingValidationError

#: How long an editing session lives, in seconds (Kling's reference: 24 hours).
SESSION_SECONDS = 24 * 3600

#: How long a session opened for a submission is reused when the submission is sent again (an hour to spare).
SESSION_REUSE_SECONDS = SESSION_SECONDS - 3600


class EditingSession(NamedTuple):
    """
    How an endpoint's editing session is opened before its task (the session's calls answer at once, make no task).

    :param opens: the route that opens it, below ``/v1/videos/`` (``multi-elements/init-selection``).
    :param fields: the fields that open it, instead of going in the task's body.
    :param fill: completes the task's body (without those fields) from the opening answer, checking it fits.
    :param marks: the route that marks the element on one frame of ``selections``, where the endpoint has one.
    """

    opens: str
    fields: tuple[str, ...]
    fill: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
    marks: str = ""


def check_session_video(backend: Backend, video_id: Any, video_url: Any) -> dict[str, str]:
    """
    Check the video a session is opened for: a ``video_id`` of Kling's (where the backend takes one) or a
    ``video_url``; return it as sent.

    :param backend: the service the session is opened on.
    :param video_id: the id of a video Kling made, or None.
    :param video_url: the video's URL, or None.
    """
    if (video_id is None) == (video_url is None):
        raise KlingValidationError("video_url", "or video_id (one of them) is required: the video")
    if video_url is not None:
        return {"video_url": check_media_url("video_url", video_url)}
    if not backend.session_takes_video_id:
        raise KlingValidationError(
            "video_id",
            f"is not taken on the {backend.name} backend, whose pages disagree on whether the parent task goes with "
            "it; give video_url instead: the video's url in task_result.videos",
        )
    return {"video_id": check_kling_id("video_id", video_id, "the id of a video Kling made")}


#: What a session's refusal of an input means, and its fix.
_UNREADABLE = {
    "video": "give an mp4 or mov of the length, size and frame rate the endpoint takes (see its video_url)",
    "selections": "mark points on the element itself, on frames the video has",
}


def read_session(answer: Any, field: str) -> str:
    """
    Return the session id of an editing session's answer (``init-selection``, ``add-selection``, ``identify-face``),
    checking that it recognised its input.

    :param answer: the answer's ``data``.
    :param field: the input the call sent: ``video_id``, ``video_url`` or ``selections``.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("session_id"), str) or not answer["session_id"]:
        raise KlingUnexpectedAnswerError(f"The editing session's answer has no session_id: {shown(answer)}")
    if answer.get("status", 0) != 0:
        fix = _UNREADABLE["selections" if field == "selections" else "video"]
        status = answer["status"]
        raise KlingValidationError(field, f"was not recognised by the editing session (status {status}); {fix}")
    return str(answer["session_id"])
