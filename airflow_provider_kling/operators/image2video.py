"""Operator that animates an image (and optionally an end frame) into a video with Kling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.contract import check_camera_control, check_cfg_scale
from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingImage2VideoOperator(KlingVideoOperator):
    """
    Turn an image into a video with Kling (``/v1/videos/image2video``), wait, and return the task object.

    Each image is an http(s) URL that Kling fetches, or a path (``/data/still.png``, ``s3://bucket/still.jpg``)
    or ``ObjectStoragePath`` of a JPEG or PNG of at most 10 MiB, which the operator reads and sends as
    Base64, checked before anything is paid for. Safe to retry, with every argument of
    :class:`KlingVideoOperator`.

    :param image: the first frame (this or ``image_tail``, or both; on CometAPI, always this). Templated.
    :param image_tail: the last frame (not with ``camera_control``). Templated.
    :param prompt: how the image should move, at most 500 characters on CometAPI, 2,500 on Kling's own API.
        Templated.
    :param negative_prompt: what to keep out of the video. Templated.
    :param model_name: ``kling-v1``, ``kling-v1-5``, ``kling-v1-6``, ``kling-v2-master``, ``kling-v2-1``,
        ``kling-v2-1-master`` or ``kling-v2-5-turbo`` (more through the
        connection's ``extra_models``); default: the service's. Templated.
    :param cfg_scale: prompt adherence from 0 to 1 (not for the kling-v2.x models); checked when the DAG is parsed.
    :param mode: ``std`` (default) or ``pro``. Templated.
    :param duration: 5 (default) or 10 seconds. Templated.
    :param camera_control: as for :class:`~airflow_provider_kling.operators.kling.KlingText2VideoOperator`;
        checked when the DAG is parsed.
    """

    endpoint = "image2video"
    template_fields: Sequence[str] = templated_fields("image2video", "cfg_scale", "camera_control")

    def __init__(
        self,
        *,
        image: Any = None,
        image_tail: Any = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        cfg_scale: float | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        camera_control: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        from airflow_provider_kling.exceptions import KlingValidationError

        super().__init__(**kwargs)
        if image is None and image_tail is None:
            raise KlingValidationError("image", "is required (or image_tail, or both): the frame to animate")
        self.image = image
        self.image_tail = image_tail
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.model_name = model_name
        self.cfg_scale = cfg_scale if cfg_scale is None else check_cfg_scale(cfg_scale)
        self.mode = mode
        self.duration = duration
        self.camera_control = camera_control if camera_control is None else check_camera_control(camera_control)
