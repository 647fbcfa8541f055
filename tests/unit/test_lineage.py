"""OpenLineage's names for what a generation reads and makes, and the lineage the operator reports."""

from __future__ import annotations

import sys
import time

import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath
from support.task_context import task_context

from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.lineage import dataset_id, image_locations
from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator
from airflow_provider_kling.operators.kling import KlingText2VideoOperator
from airflow_provider_kling.storage import check_writable


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/data/videos/a.mp4", ("file", "/data/videos/a.mp4")),
        ("file:///data/videos/a.mp4", ("file", "/data/videos/a.mp4")),
        ("s3://bucket/videos/a.mp4", ("s3://bucket", "videos/a.mp4")),
        ("gs://bucket/a.mp4", ("gs://bucket", "a.mp4")),
        ("https://cdn.example.com/v/a.mp4?Signature=abc#t=1", ("https://cdn.example.com", "/v/a.mp4")),
        ("https://user:secret@cdn.example.com:8443/a.mp4", ("https://cdn.example.com:8443", "/a.mp4")),
        ("http://[::1]:8787/v/a.mp4", ("http://[::1]:8787", "/v/a.mp4")),
        (
            "abfs://videos@account.dfs.core.windows.net/v/a.mp4",
            ("abfs://videos@account.dfs.core.windows.net", "v/a.mp4"),
        ),
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


def test_the_images_of_omni_video_and_of_a_two_person_effect_are_inputs():
    omni = {"image_list": [{"image_url": "s3://bucket/face.png", "type": "first_frame"}, {"image_url": "aGk="}]}
    assert list(image_locations(omni)) == ["s3://bucket/face.png"]
    effect = {"images": ["/data/left.jpg", "https://example.com/right.png", "aGk="]}
    assert list(image_locations(effect)) == ["/data/left.jpg", "https://example.com/right.png"]


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


def test_stored_audio_is_an_output_and_the_videos_and_audio_a_request_names_are_inputs():
    task = {
        "task_id": "860002",
        "task_status": "succeed",
        "task_result": {
            "videos": [],
            "audios": [{"url_mp3": "https://cdn.example.com/a.mp3", "stored_path": "file:///data/860002_audio_0.mp3"}],
        },
    }
    fields = {
        "video_url": "https://v.example/in.mp4",
        "audio_url": "https://a.example/line.mp3",
        "sound_file": "https://a.example/sound.wav",
    }
    named, _ = _lineage(task, {**fields, "video_list": [{"video_url": "https://v.example/ref.mp4"}]})
    assert named == {
        "inputs": [
            ("https://v.example", "/in.mp4"),
            ("https://a.example", "/line.mp3"),
            ("https://a.example", "/sound.wav"),
            ("https://v.example", "/ref.mp4"),
            ("https://cdn.example.com", "/a.mp3"),
        ],
        "outputs": [("file", "/data/860002_audio_0.mp3")],
    }
    del task["task_result"]["audios"][0]["stored_path"]
    assert _lineage(task)[0] == {"inputs": [], "outputs": [("https://cdn.example.com", "/a.mp3")]}


def test_without_storage_the_videos_kling_made_are_the_outputs():
    named, _ = _lineage(_task({"url": "https://cdn.example.com/a.mp4"}))
    assert named == {"inputs": [], "outputs": [("https://cdn.example.com", "/a.mp4")]}


def test_a_task_that_made_nothing_reports_its_inputs_only():
    named, facets = _lineage(None, {"image": "https://example.com/still.png"})
    assert named == {"inputs": [("https://example.com", "/still.png")], "outputs": []} and facets == {}


@pytest.fixture
def hook_lineage(monkeypatch):
    """A real hook lineage collector where ObjectStoragePath reports the files it reads and writes; its outputs."""
    try:  # Airflow 3
        import airflow.sdk.lineage as lineage
    except ImportError:  # Airflow 2
        import airflow.lineage.hook as lineage
    collector = lineage.HookLineageCollector()
    monkeypatch.setattr(lineage, "get_hook_lineage_collector", lambda: collector)
    path_module = sys.modules[ObjectStoragePath.__module__]
    if hasattr(path_module, "get_hook_lineage_collector"):  # imported by name where it is used
        monkeypatch.setattr(path_module, "get_hook_lineage_collector", lambda: collector)

    def outputs() -> list[str]:
        collected = getattr(collector, "collected_assets", None) or collector.collected_datasets
        return [(getattr(info, "asset", None) or info.dataset).uri for info in collected.outputs]

    return outputs


def test_neither_the_write_check_nor_the_partial_download_reaches_hook_lineage(
    cometapi_sandbox, tmp_path, hook_lineage
):
    hook = KlingHook()
    task_id = hook.create_text2video("a fox")["task_id"]
    time.sleep(0.7)  # the sandbox renders in 0.6 s
    url = hook.get_task(task_id)["task_result"]["videos"][0]["url"]
    folder = ObjectStoragePath(f"file://{tmp_path}")
    check_writable(folder)
    hook.download_video(url, folder / "fox.mp4")
    assert hook_lineage() == []
    with (folder / "control.txt").open("wb") as control:  # the collector sees what goes through ObjectStoragePath
        control.write(b"seen")
    assert [uri.rpartition("/")[2] for uri in hook_lineage()] == ["control.txt"]


def _reported(operator, sandbox) -> tuple[dict[str, list], dict]:
    pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")
    lineage = operator.get_openlineage_facets_on_complete(None)
    named = {side: [(d.namespace, d.name) for d in getattr(lineage, side)] for side in ("inputs", "outputs")}
    return named, lineage.run_facets


def test_an_operator_that_stored_its_video_reports_it_and_its_task(cometapi_sandbox, tmp_path):
    operator = KlingImage2VideoOperator(
        task_id="animate", image="https://images.example/still.png", poll_interval=0.05, output_path=str(tmp_path)
    )
    task = operator.execute(task_context())
    named, facets = _reported(operator, cometapi_sandbox)
    video = task["task_result"]["videos"][0]
    assert named == {
        "inputs": [("https://images.example", "/still.png"), dataset_id(video["url"])],
        "outputs": [("file", str(tmp_path / f"{task['task_id']}_0.mp4"))],
    }
    query = facets["externalQuery"]
    assert (query.externalQueryId, query.source) == (task["task_id"], cometapi_sandbox.url)


def test_an_operator_that_only_submitted_reports_its_task_and_no_output(cometapi_sandbox):
    operator = KlingText2VideoOperator(task_id="generate", prompt="a fox", wait_for_completion=False)
    task = operator.execute(task_context())
    named, facets = _reported(operator, cometapi_sandbox)
    assert named == {"inputs": [], "outputs": []} and facets["externalQuery"].externalQueryId == task["task_id"]


def test_an_operator_that_submitted_nothing_reports_nothing(cometapi_sandbox):
    named, facets = _reported(KlingText2VideoOperator(task_id="generate", prompt="a fox"), cometapi_sandbox)
    assert named == {"inputs": [], "outputs": []} and facets == {}
