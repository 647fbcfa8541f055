"""Multi-elements' rules (``/v1/videos/multi-elements``): add, swap or remove an element of a video.

A task edits a video held by an editing session: ``init-selection`` opens one for the video, ``add-selection`` marks
the element to swap or remove on up to 10 frames, then the task is created with the session's id. The session's
calls answer at once and make no task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    DURATIONS,
    MODES,
    check_choice,
    check_delivery_fields,
    check_duration,
    check_image,
    check_kling_id,
    check_model,
    check_text,
    is_number,
    listed_image,
    shown,
)
from airflow_provider_kling.contract.models import models_for
from airflow_provider_kling.contract.sessions import check_session_video
from airflow_provider_kling.exceptions import KlingValidationError

#: What a task does to the video: add an element from the images, swap the marked one for an image's, remove it.
EDIT_MODES = ("addition", "swap", "removal")

#: How many reference images each edit takes (fewest, most).
EDIT_IMAGES = {"addition": (1, 2), "swap": (1, 1), "removal": (0, 0)}

#: The edits that need the element marked on the video's frames first.
MARKED_EDITS = ("swap", "removal")

#: The most frames a session marks, and the most points on one frame.
MAX_MARKED_FRAMES, MAX_POINTS_PER_FRAME = 10, 10

#: The longest prompt and negative prompt (Kling's reference); a backend's own shorter limits apply, as CometAPI
#: documents none for this endpoint.
MULTI_ELEMENTS_PROMPT_MAX_CHARS = 2500

MULTI_ELEMENTS_MODELS = models_for("multi-elements")

#: The fields that open the task's editing session rather than go in its body.
SESSION_FIELDS = ("video_id", "video_url", "selections")

#: The input video's length, in seconds, for each output duration (Kling's reference; CometAPI's page allows 0.5 s
#: more, which is refused here to be safe on both).
INPUT_SECONDS = {"5": (2.0, 5.0), "10": (7.0, 10.0)}


def _point(field: str, point: Any) -> dict[str, float]:
    if isinstance(point, Mapping) and set(point) == {"x", "y"}:
        x, y = point["x"], point["y"]
        if is_number(x, 0, 1) and is_number(y, 0, 1):
            return {"x": x, "y": y}
    raise KlingValidationError(field, f"got {shown(point)}; allowed: {{'x': 0..1, 'y': 0..1}} from the top left")


def check_selections(value: Any) -> list[dict[str, Any]]:
    """
    Check the marks of the element to edit: 1 to 10 frames, each ``{"frame_index": n, "points": [{"x", "y"}...]}``
    with 1 to 10 points in 0..1 from the frame's top left; return them as sent, one ``add-selection`` each.

    :param value: the ``selections`` argument.
    """
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_MARKED_FRAMES:
        raise KlingValidationError(
            "selections",
            f"got {shown(value)}; allowed: 1 to {MAX_MARKED_FRAMES} frames, each "
            "{'frame_index': n, 'points': [{'x': 0..1, 'y': 0..1}, ...]}",
        )
    checked, frames = [], set()
    for index, frame in enumerate(value):
        field = f"selections[{index}]"
        if not isinstance(frame, Mapping) or set(frame) != {"frame_index", "points"}:
            raise KlingValidationError(field, f"got {shown(frame)}; allowed: {{'frame_index': n, 'points': [...]}}")
        number, points = frame["frame_index"], frame["points"]
        if isinstance(number, bool) or not isinstance(number, int) or number < 0 or number in frames:
            raise KlingValidationError(
                f"{field}.frame_index", f"got {shown(number)}; allowed: a frame number from 0, each frame once"
            )
        if not isinstance(points, (list, tuple)) or not 1 <= len(points) <= MAX_POINTS_PER_FRAME:
            raise KlingValidationError(
                f"{field}.points", f"got {shown(points)}; allowed: 1 to {MAX_POINTS_PER_FRAME} points on the element"
            )
        frames.add(number)
        checked.append(
            {
                "frame_index": number,
                "points": [_point(f"{field}.points[{n}]", point) for n, point in enumerate(points)],
            }
        )
    return checked


def _source(given: Mapping[str, Any], backend: Backend, edit_mode: str) -> dict[str, Any]:
    """The session the task edits: one already open (``session_id``), or the video and marks to open one with."""
    if "session_id" in given:
        for name in SESSION_FIELDS:
            if name in given:
                raise KlingValidationError(name, "is not used with session_id: the session holds its video and marks")
        return {"session_id": check_kling_id("session_id", given["session_id"], "the id init-selection gave")}
    sources = [name for name in ("video_id", "video_url") if name in given]
    if len(sources) != 1:
        raise KlingValidationError(
            "video_url",
            "or video_id (one of them), or the session_id of an open editing session, is required: the video to edit",
        )
    body: dict[str, Any] = check_session_video(backend, given.get("video_id"), given.get("video_url"))
    if "selections" in given:
        body["selections"] = check_selections(given["selections"])
    elif edit_mode in MARKED_EDITS:
        raise KlingValidationError(
            "selections", f"is required with edit_mode={edit_mode!r}: the points that mark the element on its frames"
        )
    return body


def build_multi_elements(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a multi-elements request's fields; return its body, with the fields that open its session if it has none.

    :param given: the fields given (none None).
    :param backend: the service the request goes to.
    :param extra_models: model names to accept beyond the known ones.
    """
    if "edit_mode" not in given:
        raise KlingValidationError("edit_mode", f"is required; allowed: {', '.join(EDIT_MODES)}")
    edit_mode = check_choice("edit_mode", given["edit_mode"], EDIT_MODES)
    body: dict[str, Any] = {"edit_mode": edit_mode, **_source(given, backend, edit_mode)}
    fewest, most = EDIT_IMAGES[edit_mode]
    images = given.get("image_list", [])
    if not isinstance(images, (list, tuple)) or not fewest <= len(images) <= most:
        allowed = "none" if most == 0 else "one image" if most == 1 else f"{fewest} to {most} images"
        raise KlingValidationError(
            "image_list",
            f"got {shown(given.get('image_list'))}; allowed with edit_mode={edit_mode!r}: {allowed} of the element, "
            "cropped to it",
        )
    if images:
        body["image_list"] = [
            {"image": check_image(f"image_list[{index}]", listed_image(item))} for index, item in enumerate(images)
        ]
    if "prompt" not in given:
        raise KlingValidationError(
            "prompt", "is required: the edit, naming <<<video_1>>> and (to add or swap) <<<image_1>>>"
        )
    limit = min(backend.prompt_max_chars, MULTI_ELEMENTS_PROMPT_MAX_CHARS)
    body["prompt"] = check_text("prompt", given["prompt"], limit, required=True)
    if "negative_prompt" in given:
        body["negative_prompt"] = check_text(
            "negative_prompt",
            given["negative_prompt"],
            min(backend.negative_prompt_max_chars, MULTI_ELEMENTS_PROMPT_MAX_CHARS),
        )
    model = check_model(given, MULTI_ELEMENTS_MODELS, extra_models)
    if model is not None:
        body["model_name"] = model
    if "mode" in given:
        body["mode"] = check_choice("mode", given["mode"], MODES)
    if "duration" in given:
        body["duration"] = check_duration("duration", given["duration"], DURATIONS)
    return {**body, **check_delivery_fields(given)}


def fill_multi_elements(body: Mapping[str, Any], opened: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return a multi-elements body with the session it edits, once the video's length (``original_duration``, where
    the session gives it) is checked against the task's ``duration``.

    :param body: the checked body, without the fields that opened the session.
    :param opened: the answer of ``init-selection``.
    """
    duration = str(body.get("duration", "5"))
    length = opened.get("original_duration")
    if is_number(length) and math.isfinite(length):
        seconds = length / 1000
        shortest, longest = INPUT_SECONDS[duration]
        if not shortest <= seconds <= longest:
            fits = [output for output, (low, high) in INPUT_SECONDS.items() if low <= seconds <= high]
            raise KlingValidationError(
                "duration",
                f"is {duration} s, which needs a video of {shortest:g} to {longest:g} s; this one lasts "
                f"{seconds:g} s: " + (f"set duration={fits[0]}" if fits else "give a video of 2 to 5 s or 7 to 10 s"),
            )
    return {**body, "session_id": opened["session_id"]}
