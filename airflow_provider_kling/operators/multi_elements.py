"""Operator that adds an element to a video, swaps one for another, or removes one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingMultiElementsOperator(KlingVideoOperator):
    """
    Edit the elements of a video (``/v1/videos/multi-elements``), wait, and return the task object.

    Before submitting, the operator opens an editing session for the video and marks the element to swap or remove
    on the frames of ``selections``: points on the element, from the frame's top left, as you would click them in
    Kling's editor. Those calls make no task; a retry takes up the task an earlier try paid for, as every operator
    does. Safe to retry, with every argument of :class:`KlingVideoOperator`.

    :param edit_mode: ``addition`` (add the element of ``image_list``), ``swap`` (replace the marked element with
        the image's) or ``removal`` (remove the marked element). Templated.
    :param prompt: the edit, naming ``<<<video_1>>>`` and, to add or swap, ``<<<image_1>>>``, such as "Using the
        context of <<<video_1>>>, seamlessly add the hat from <<<image_1>>>". Templated.
    :param video_url: the URL of the mp4 or mov to edit: 720 to 2160 px, 24, 30 or 60 fps, 2 to 5 s (for a 5 s
        result) or 7 to 10 s (for 10 s). Templated.
    :param video_id: the id of a video Kling made in the last 30 days, instead (Kling's own API only). Templated.
    :param selections: with ``swap`` and ``removal``, the element's marks: 1 to 10 frames, each ``{"frame_index":
        n, "points": [{"x": 0.5, "y": 0.4}]}`` with 1 to 10 points from 0 to 1. Templated.
    :param session_id: an editing session already opened and marked (see
        :meth:`~airflow_provider_kling.hooks.kling.KlingHook.open_editing_session`), instead of the video and its
        marks. Templated.
    :param image_list: the element's pictures, cropped to it: 1 or 2 to add, 1 to swap, none to remove. Templated.
    :param negative_prompt: what to keep out of the video. Templated.
    :param model_name: ``kling-v1-6``, the only model that edits elements (the service's default). Templated.
    :param mode: ``std`` (the default) or ``pro``. Templated.
    :param duration: 5 (the default) or 10 seconds; checked against the video's length when the operator opens
        the session, before the task is paid for (not with ``session_id``). Templated.
    """

    endpoint = "multi-elements"
    template_fields: Sequence[str] = templated_fields("multi-elements")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "prompt": "md",
        "negative_prompt": "md",
        "selections": "json",
    }

    def __init__(
        self,
        *,
        edit_mode: str,
        prompt: str,
        video_url: str | None = None,
        video_id: str | None = None,
        selections: list[dict[str, Any]] | None = None,
        session_id: str | None = None,
        image_list: list[Any] | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.edit_mode = edit_mode
        self.prompt = prompt
        self.video_url = video_url
        self.video_id = video_id
        self.selections = selections
        self.session_id = session_id
        self.image_list = image_list
        self.negative_prompt = negative_prompt
        self.model_name = model_name
        self.mode = mode
        self.duration = duration
