"""OpenLineage's names for what a generation reads and makes, and the lineage the operator reports."""

from __future__ import annotations

import pytest

from airflow_provider_kling.lineage import dataset_id, image_locations


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/data/videos/a.mp4", ("file", "/data/videos/a.mp4")),
        ("file:///data/videos/a.mp4", ("file", "/data/videos/a.mp4")),
        ("s3://bucket/videos/a.mp4", ("s3://bucket", "videos/a.mp4")),
        ("gs://bucket/a.mp4", ("gs://bucket", "a.mp4")),
        ("https://cdn.example.com/v/a.mp4?Signature=abc#t=1", ("https://cdn.example.com", "/v/a.mp4")),
        ("https://user:secret@cdn.example.com:8443/a.mp4", ("https://cdn.example.com:8443", "/a.mp4")),
        ("s3://bucket", ("s3://bucket", "")),
        ("s3://bucket/Xmas/a.mp4", ("s3://bucket", "Xmas/a.mp4")),
        ("s3:///a.mp4", ("s3://", "a.mp4")),
        ("http://127.0.0.1:8787/sandbox/videos/1.mp4", ("http://127.0.0.1:8787", "/sandbox/videos/1.mp4")),
    ],
)
def test_each_location_gets_openlineage_s_namespace_and_name(location, expected):
    assert dataset_id(location) == expected


def test_only_images_named_by_a_file_or_a_url_are_inputs():
    fields = {
        "image": "/data/still.png",
        "image_tail": "iVBORw0KGgoAAAANSUhEUg",  # Base64: no location
        "image_list": [{"image": "s3://bucket/a.jpg"}, "https://example.com/b.jpeg", "not-an-image"],
        "prompt": "/data/prompt.png",  # not an image field
    }
    assert list(image_locations(fields)) == ["/data/still.png", "s3://bucket/a.jpg", "https://example.com/b.jpeg"]
    assert list(image_locations({"image_tail": "/data/end.jpg", "image": "http://127.0.0.1/a.png"})) == [
        "http://127.0.0.1/a.png",
        "/data/end.jpg",
    ]
    assert list(image_locations({"image_list": "s3://bucket/a.jpg"})) == []


def _lineage(task, fields=None):
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
    from airflow_provider_kling.lineage import video_lineage

    lineage = video_lineage(task, fields or {}, "https://api.cometapi.com/kling")
    named = {side: [(d.namespace, d.name) for d in getattr(lineage, side)] for side in ("inputs", "outputs")}
    return named, lineage.run_facets


def _task(*videos):
    return {"task_id": "860001", "task_status": "succeed", "task_result": {"videos": list(videos)}}


def test_stored_videos_are_the_outputs_and_what_kling_made_the_inputs():
    task = _task(
        {"url": "https://cdn.example.com/a.mp4", "stored_path": "s3://bucket/v/860001_0.mp4"},
        {"url": "https://cdn.example.com/b.mp4", "stored_path": "file:///data/860001_1.mp4"},
    )
    named, facets = _lineage(task, {"image": "/data/still.jpg"})
    assert named == {
        "inputs": [
            ("file", "/data/still.jpg"),
            ("https://cdn.example.com", "/a.mp4"),
            ("https://cdn.example.com", "/b.mp4"),
        ],
        "outputs": [("s3://bucket", "v/860001_0.mp4"), ("file", "/data/860001_1.mp4")],
    }
    assert (facets["externalQuery"].externalQueryId, facets["externalQuery"].source) == (
        "860001",
        "https://api.cometapi.com",
    )


def test_without_storage_the_videos_kling_made_are_the_outputs():
    named, _ = _lineage(_task({"url": "https://cdn.example.com/a.mp4"}))
    assert named == {"inputs": [], "outputs": [("https://cdn.example.com", "/a.mp4")]}


def test_a_task_that_made_nothing_reports_its_inputs_only():
    named, facets = _lineage(None, {"image": "https://example.com/still.png"})
    assert named == {"inputs": [("https://example.com", "/still.png")], "outputs": []} and facets == {}
