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


class KlingAdvancedLipSyncOperator(KlingVideoOperator):
    """
    Put a sound on a face of a video (Kling's two-step lip-sync, ``/v1/videos/advanced-lip-sync``), wait, and
    return the task object. Kling's own API only.

    Before submitting, the operator asks Kling for the video's faces (``identify-face``) and puts the sound on the
    face given, else the one on screen longest, from where it appears unless placed. Safe to retry, with every
    argument of :class:`KlingVideoOperator`; no ``external_task_id``, so ``on_unknown_submission`` decides after a
    lost answer.

    :param video_url: the mp4 or mov with the face: 2 to 60 s, 720p or 1080p, at most 100 MB. Templated.
    :param video_id: the id of a video Kling made in the last 30 days (at most 60 s), instead. Templated.
    :param session_id: an ``identify-face`` session opened with
        :meth:`~airflow_provider_kling.hooks.kling.KlingHook.open_editing_session`, instead; with ``face_id`` and
        ``sound_insert_time``. Templated.
    :param face_id: the face to sync, from the session's ``face_data``. Templated.
    :param sound_file: the sound: an mp3, wav or m4a URL, or its Base64 (at most 5 MB). Templated.
    :param audio_id: the id of a Kling text-to-speech audio, instead. Templated.
    :param sound_start_time: where the sound to use starts, in ms (default 0). Templated.
    :param sound_end_time: where it ends, in ms; the clip lasts 2 to 60 s. Templated.
    :param sound_insert_time: where in the video the sound starts, in ms; it overlaps the face by 2 s. Templated.
    :param sound_volume: the sound's volume, 0 to 2 (default 1). Templated.
    :param original_audio_volume: the video's own sound's volume, 0 to 2 (default 1). Templated.
    """

    endpoint = "advanced-lip-sync"
    template_fields: Sequence[str] = templated_fields("advanced-lip-sync")

    def __init__(
        self,
        *,
        sound_end_time: int,
        video_url: str | None = None,
        video_id: str | None = None,
        session_id: str | None = None,
        face_id: str | None = None,
        sound_file: str | None = None,
        audio_id: str | None = None,
        sound_start_time: int | None = None,
        sound_insert_time: int | None = None,
        sound_volume: float | None = None,
        original_audio_volume: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.video_url = video_url
        self.video_id = video_id
        self.session_id = session_id
        self.face_id = face_id
        self.sound_file = sound_file
        self.audio_id = audio_id
        self.sound_start_time = sound_start_time
        self.sound_end_time = sound_end_time
        self.sound_insert_time = sound_insert_time
        self.sound_volume = sound_volume
        self.original_audio_volume = original_audio_volume
