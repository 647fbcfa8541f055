"""Operator that makes a video's speaker say a text, read by a Kling voice, or an audio file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_kling.operators.kling import KlingVideoOperator, templated_fields


class KlingLipSyncOperator(KlingVideoOperator):
    """
    Lip-sync a video to a text or an audio (``/v1/videos/lip-sync``), wait, and return the task object.

    The video is one Kling made in the last 30 days (``video_id``, 5 or 10 s) or an mp4/mov URL (2 to 10 s).
    Safe to retry, with every argument of :class:`KlingVideoOperator`; the endpoint takes no
    ``external_task_id``, so a submission whose answer was lost is never looked up: ``on_unknown_submission``
    decides.

    :param mode: ``text2video`` (a Kling voice reads ``text``) or ``audio2video`` (``audio_url`` or
        ``audio_file``). Templated.
    :param video_id: the id of a video Kling made (``task_result.videos[].id`` of an earlier task). Templated.
    :param parent_task_id: the Kling ``task_id`` that made that video; required with ``video_id`` on CometAPI
        (sent there as ``task_id``), not sent to Kling's own API, whose lip-sync takes none. Templated.
    :param video_url: the URL of an mp4 or mov video instead of ``video_id``. Templated.
    :param text: what the speaker says, at most 120 characters. Templated.
    :param voice_id: the voice from Kling's voice list, such as ``girlfriend_1_speech02``. Templated.
    :param voice_language: ``en`` (the default here) or ``zh``, always sent. Templated.
    :param voice_speed: from 0.8 to 2.0 (one decimal).
    :param audio_type: ``url`` or ``file``; default: which of ``audio_url`` and ``audio_file`` is given.
    :param audio_file: the Base64 of an mp3, wav, m4a or aac file of at most 5 MB.
    :param audio_url: the URL of such a file. Templated.
    :param callback_url: an https URL (http only for localhost) that Kling POSTs status updates to. Templated.
    """

    endpoint = "lip-sync"
    template_fields: Sequence[str] = templated_fields("lip-sync", "voice_speed", "audio_type", "audio_file")

    def __init__(
        self,
        *,
        mode: str,
        video_id: str | None = None,
        parent_task_id: str | None = None,
        video_url: str | None = None,
        text: str | None = None,
        voice_id: str | None = None,
        voice_language: str | None = None,
        voice_speed: float | None = None,
        audio_type: str | None = None,
        audio_file: str | None = None,
        audio_url: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.video_id = video_id
        self.parent_task_id = parent_task_id
        self.video_url = video_url
        self.text = text
        self.voice_id = voice_id
        self.voice_language = voice_language
        self.voice_speed = voice_speed
        self.audio_type = audio_type
        self.audio_file = audio_file
        self.audio_url = audio_url
        self.callback_url = callback_url
