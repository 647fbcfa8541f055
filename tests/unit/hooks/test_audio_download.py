"""Fast: a result audio is stored only when its first bytes are the audio its name says, MP3 or else WAV."""

from __future__ import annotations

import pytest

from airflow_provider_kling.netguard import missing_media
from airflow_provider_kling.storage import store_results

MP3_TAGGED, MP3_FRAME, WAV = b"ID3\x04\x00\x00\x00\x00", b"\xff\xfb\x90\x64\x00\x00\x00\x00", b"RIFF\x24\x00\x00\x00"
MP4 = b"\x00\x00\x00\x18ftypmp42"


@pytest.mark.parametrize(
    ("start", "name", "missing"),
    [
        (MP3_TAGGED, "1_audio_0.mp3", None),
        (MP3_FRAME, "1_audio_0.mp3", None),
        (MP4, "1_audio_0.mp3", "an MP3 audio"),
        (b"<html><b", "1_audio_0.mp3", "an MP3 audio"),
        (WAV, "1_audio_0.wav", None),
        (MP3_TAGGED, "1_audio_0.wav", "a WAV audio"),
        (MP4, "1_0.mp4", None),
        (MP3_TAGGED, "1_0.mp4", "an MP4 video"),
    ],
)
def test_a_download_is_checked_against_what_its_name_says(start, name, missing):
    assert missing_media(start, name) == missing


def test_an_audio_offered_only_as_wav_is_stored_as_wav_beside_the_videos(tmp_path):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    task = {
        "task_id": "860003",
        "task_result": {
            "videos": [{"url": "https://cdn.example.com/v.mp4"}],
            "audios": [{"url_mp3": "ftp://cdn.example.com/a.mp3", "url_wav": "https://cdn.example.com/a.wav"}],
        },
    }
    fetched = []

    def download(url: str, destination) -> int:  # the hook's download, whose own checks its tests cover
        fetched.append((url, str(destination)))
        return 42

    store_results(task, ObjectStoragePath(f"file://{tmp_path}"), download)
    assert fetched == [
        ("https://cdn.example.com/v.mp4", f"file://{tmp_path}/860003_0.mp4"),
        ("https://cdn.example.com/a.wav", f"file://{tmp_path}/860003_audio_0.wav"),
    ]
    assert task["task_result"]["audios"][0] == {
        "url_mp3": "ftp://cdn.example.com/a.mp3",
        "url_wav": "https://cdn.example.com/a.wav",
        "stored_bytes": 42,
        "stored_path": f"file://{tmp_path}/860003_audio_0.wav",
    }
