"""Storing result videos: streamed, atomic, size-checked, http(s) only, and never sent the key."""

from __future__ import annotations

import time

import pytest

from airflow_provider_kling.exceptions import KlingPermanentError, KlingTransientError, KlingValidationError
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.sandbox import Fault


@pytest.fixture
def sandbox(cometapi_sandbox):
    """Result videos come from a video host, not the API: one profile serves them as the other does."""
    return cometapi_sandbox


@pytest.fixture
def video_url(sandbox):
    hook = KlingHook()
    task = hook.create_text2video("a cat")
    time.sleep(0.7)
    return hook.get_task(task["task_id"])["task_result"]["videos"][0]["url"]


def test_a_video_is_stored_whole_and_the_key_is_not_sent_to_the_video_host(sandbox, video_url, tmp_path):
    destination = tmp_path / "out" / "cat.mp4"
    size = KlingHook().download_video(video_url, f"file://{destination}")
    assert size == destination.stat().st_size == sandbox.video_size
    assert destination.read_bytes()[4:8] == b"ftyp"
    assert list(destination.parent.iterdir()) == [destination]
    assert all("Authorization" not in headers for headers in sandbox.video_requests)


def test_a_large_video_streams_through(sandbox, video_url, tmp_path):
    sandbox.video_bytes = 5 * 1024 * 1024 + 3
    destination = tmp_path / "big.mp4"
    assert KlingHook().download_video(video_url, f"file://{destination}") == 5 * 1024 * 1024 + 3
    assert destination.read_bytes()[4:8] == b"ftyp"


def test_an_interrupted_transfer_leaves_no_file_at_the_destination(sandbox, video_url, tmp_path):
    sandbox.inject(Fault(target="video", drop=True, count=10))
    destination = tmp_path / "cat.mp4"
    with pytest.raises(KlingTransientError, match=r"IncompleteRead|announced"):
        KlingHook(retry_limit=2, retry_delay=0).download_video(video_url, f"file://{destination}")
    assert list(tmp_path.iterdir()) == []
    assert sandbox.stats()["faults_served"] == {"drop": 3}


def test_an_interrupted_transfer_is_retried_from_the_start(sandbox, video_url, tmp_path):
    sandbox.inject(Fault(target="video", drop=True))
    destination = tmp_path / "cat.mp4"
    assert KlingHook(retry_limit=2, retry_delay=0).download_video(video_url, str(destination)) == sandbox.video_size
    assert list(tmp_path.iterdir()) == [destination]


def test_a_size_different_from_the_servers_is_refused(sandbox, video_url, tmp_path, monkeypatch):
    # urllib3 normally catches a short body first; this shows our own check in case it does not.
    import urllib3

    original = urllib3.response.HTTPResponse.read1

    def one_byte_short(response, amt=None, decode_content=None):
        data = original(response, amt, decode_content)
        return data[:-1] if data and not response.length_remaining else data

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", one_byte_short)
    with pytest.raises(KlingTransientError, match=r"got \d+ bytes, the server announced \d+"):
        KlingHook(retry_limit=0).download_video(video_url, f"file://{tmp_path / 'cat.mp4'}")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_video_is_a_permanent_error(sandbox, tmp_path):
    with pytest.raises(KlingPermanentError):
        KlingHook().download_video(f"{sandbox.url}/sandbox/videos/404.mp4", f"file://{tmp_path / 'x.mp4'}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4", "s3://bucket/v.mp4", "", None])
def test_only_http_and_https_sources_are_accepted(sandbox, tmp_path, url):
    with pytest.raises(KlingValidationError, match="url"):
        KlingHook().download_video(url, f"file://{tmp_path / 'x.mp4'}")
    assert list(tmp_path.iterdir()) == []
    assert sandbox.video_requests == []
