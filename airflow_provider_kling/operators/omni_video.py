"""Operator that makes a video with Kling's Omni models from a prompt and reference images, elements or a video."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingOmniVideoOperator(KlingVideoOperator):
    """
    Make a video with an Omni model (``/v1/videos/omni-video``), wait, and return the task object.

    The prompt refers to its references as ``<<<image_1>>>``, ``<<<element_1>>>`` and ``<<<video_1>>>``, numbered
    in list order. Every field is checked before anything is paid for; images given as paths are read and sent
    as Base64. Safe to retry, with every argument of :class:`KlingVideoOperator`.

    :param prompt: what to make, at most 2,500 characters (none with ``shot_type="customize"``). Templated.
    :param model_name: ``kling-video-o1`` (the service's default; the only one CometAPI documents) or
        ``kling-v3-omni`` (Kling's own API; more through the connection's ``extra_models``). Templated.
    :param mode: ``std`` (720p) or ``pro`` (1080p, the service's default). Templated.
    :param aspect_ratio: ``16:9``, ``9:16`` or ``1:1``; required unless a first frame or a video to edit sets it.
        Templated.
    :param duration: whole seconds: 5 or 10 with kling-video-o1 (3 to 10 beside a reference video), 3 to 15 with
        kling-v3-omni (at most 10 beside a reference video); none when editing a video. Templated.
    :param image_list: reference images, ``[{"image_url": URL or path, "type": "first_frame"}]`` (``type``:
        ``first_frame``, ``end_frame`` or none for a look to follow); with elements at most 7, 4 beside a video.
        Templated.
    :param element_list: elements from Kling's element library, ``[{"element_id": 123}]``. Templated.
    :param video_list: one reference video, ``[{"video_url": URL, "refer_type": "base"}]`` (``base``: the video
        to edit, the default; ``feature``: a reference for motion and style), with ``keep_original_sound``
        ``yes``/``no``. Templated.
    :param sound: ``on`` (kling-v3-omni, no reference video) or ``off``. Templated.
    :param multi_shot: several shots in one video (kling-v3-omni), with ``shot_type`` and ``multi_prompt`` as for
        :class:`~airflow_provider_kling.operators.kling.KlingText2VideoOperator`.
    :param shot_type: ``customize`` or ``intelligence``. Templated.
    :param multi_prompt: the shots of ``shot_type="customize"``. Templated.
    :param watermark_info: ``{"enabled": True}`` for a watermarked copy beside the video.
    """

    endpoint = "omni-video"
    template_fields: Sequence[str] = templated_fields("omni-video", "multi_shot", "watermark_info")

    def __init__(
        self,
        *,
        prompt: str | None = None,
        model_name: str | None = None,
        mode: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | str | None = None,
        image_list: list[dict[str, Any]] | None = None,
        element_list: list[dict[str, int]] | None = None,
        video_list: list[dict[str, str]] | None = None,
        sound: str | None = None,
        multi_shot: bool | None = None,
        shot_type: str | None = None,
        multi_prompt: list[dict[str, Any]] | None = None,
        watermark_info: dict[str, bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.model_name = model_name
        self.mode = mode
        self.aspect_ratio = aspect_ratio
        self.duration = duration
        self.image_list = image_list
        self.element_list = element_list
        self.video_list = video_list
        self.sound = sound
        self.multi_shot = multi_shot
        self.shot_type = shot_type
        self.multi_prompt = multi_prompt
        self.watermark_info = watermark_info
