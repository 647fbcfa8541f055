"""Operators that make sound with Kling: for a video (sound effects and music), or from a text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.contract import check_flag
from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingVideoToAudioOperator(KlingVideoOperator):
    """
    Make sound for a video (``/v1/audio/video-to-audio``), wait, and return the task object.

    The result holds the audio (``task_result.audios``, MP3 and WAV URLs) and the video with its new sound
    (``task_result.videos``); with ``output_path`` both are stored. Safe to retry, with every argument of
    :class:`KlingVideoOperator`.

    :param video_id: the id of a video Kling made in the last 30 days (``task_result.videos[].id`` of an earlier
        task). Templated.
    :param video_url: the URL of an mp4 or mov video of 3 to 20 seconds, instead of ``video_id``. Templated.
    :param sound_effect_prompt: the sound effects wanted, at most 200 characters. Templated.
    :param bgm_prompt: the background music wanted, at most 200 characters. Templated.
    :param asmr_mode: ASMR-style detailed sound; checked when the DAG is parsed.
    """

    endpoint = "video-to-audio"
    template_fields: Sequence[str] = templated_fields("video-to-audio", "asmr_mode")

    def __init__(
        self,
        *,
        video_id: str | None = None,
        video_url: str | None = None,
        sound_effect_prompt: str | None = None,
        bgm_prompt: str | None = None,
        asmr_mode: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.video_id = video_id
        self.video_url = video_url
        self.sound_effect_prompt = sound_effect_prompt
        self.bgm_prompt = bgm_prompt
        self.asmr_mode = asmr_mode if asmr_mode is None else check_flag("asmr_mode", asmr_mode)


class KlingTextToAudioOperator(KlingVideoOperator):
    """
    Make a sound from a text (``/v1/audio/text-to-audio``), wait, and return the task object.

    The result holds the audio (``task_result.audios``, MP3 and WAV URLs); with ``output_path`` it is stored as
    ``<kling task id>_audio_0.mp3`` (``.wav`` when only a WAV is offered). Safe to retry, with every argument
    of :class:`KlingVideoOperator`.

    :param prompt: the sound to make, at most 200 characters. Templated.
    :param duration: its length, 3.0 to 10.0 seconds with at most one decimal. Templated.
    """

    endpoint = "text-to-audio"
    template_fields: Sequence[str] = templated_fields("text-to-audio")

    def __init__(
        self,
        *,
        prompt: str,
        duration: float | str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.duration = duration
