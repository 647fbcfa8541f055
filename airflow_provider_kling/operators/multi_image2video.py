"""Operator that makes one video from up to four images with Kling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.contract import check_cfg_scale
from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingMultiImage2VideoOperator(KlingVideoOperator):
    """
    Make a video from 2 to 4 reference images with Kling (``/v1/videos/multi-image2video``).

    It waits for the video and returns the task object. Images are given as for
    :class:`~airflow_provider_kling.operators.image2video.KlingImage2VideoOperator`. Safe to retry, with
    every argument of :class:`KlingVideoOperator`.

    :param image_list: 2 to 4 images, each an http(s) URL, a path or ``ObjectStoragePath`` of a JPEG or
        PNG (read and sent as Base64), Base64, or ``{"image": ...}``. Templated.
    :param prompt: what the video shows, 1 to 500 characters on CometAPI, 2,500 on Kling's own API. Templated.
    :param negative_prompt: what to keep out of the video. Templated.
    :param model_name: ``kling-v1-6`` (more through the connection's ``extra_models``); default: the
        service's. Templated.
    :param cfg_scale: prompt adherence from 0 to 1; checked when the DAG is parsed.
    :param mode: ``std`` (default) or ``pro``. Templated.
    :param duration: 5 (default) or 10 seconds. Templated.
    :param aspect_ratio: ``16:9`` (default), ``9:16`` or ``1:1``. Templated.
    """

    endpoint = "multi-image2video"
    template_fields: Sequence[str] = templated_fields("multi-image2video", "cfg_scale")

    def __init__(
        self,
        *,
        image_list: list[Any],
        prompt: str,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        cfg_scale: float | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        aspect_ratio: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image_list = image_list
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.model_name = model_name
        self.cfg_scale = cfg_scale if cfg_scale is None else check_cfg_scale(cfg_scale)
        self.mode = mode
        self.duration = duration
        self.aspect_ratio = aspect_ratio
