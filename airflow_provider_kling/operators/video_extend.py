"""Operator that extends a video Kling made by a few seconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.contract import check_cfg_scale
from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingVideoExtendOperator(KlingVideoOperator):
    """
    Extend a video Kling made by 4 to 5 seconds (``/v1/videos/video-extend``), wait, and return the task object.

    The new video keeps the source's model and mode; videos older than 30 days, or longer than 3 minutes
    in all, cannot be extended. Safe to retry, with every argument of :class:`KlingVideoOperator`; the
    endpoint takes no ``external_task_id``, so a submission whose answer was lost is never looked up:
    ``on_unknown_submission`` decides.

    :param video_id: the id of the video to extend (``task_result.videos[].id`` of an earlier task), e.g.
        ``"{{ ti.xcom_pull('generate')['task_result']['videos'][0]['id'] }}"``. Templated.
    :param parent_task_id: the Kling ``task_id`` of the task that made the video (sent as ``task_id``), e.g.
        ``"{{ ti.xcom_pull('generate')['task_id'] }}"``; required on CometAPI, whose relay sends the extension
        to the account that made the video. Templated.
    :param prompt: what happens next, at most 500 characters on CometAPI, 2,500 on Kling's own API. Templated.
    :param negative_prompt: what to keep out of the video. Templated.
    :param cfg_scale: prompt adherence from 0 to 1; checked when the DAG is parsed.
    """

    endpoint = "video-extend"
    template_fields: Sequence[str] = templated_fields("video-extend", "cfg_scale")

    def __init__(
        self,
        *,
        video_id: str,
        parent_task_id: str | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        cfg_scale: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.video_id = video_id
        self.parent_task_id = parent_task_id
        self.prompt = prompt
        self.negative_prompt = negative_prompt
        self.cfg_scale = cfg_scale if cfg_scale is None else check_cfg_scale(cfg_scale)
