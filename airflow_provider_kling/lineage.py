"""What OpenLineage reports for a Kling generation, read by ``apache-airflow-providers-openlineage`` when installed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_kling.contract import audio_url, is_file_reference, listed_image, task_audios, task_videos

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    #: What the operator reports: datasets, and facets of the run.
    VideoLineage = OperatorLineage[Dataset, RunFacet]


def dataset_id(location: str) -> tuple[str, str]:
    """
    The OpenLineage namespace and name of a file or URL, after OpenLineage's naming: ``file`` and the path for a
    local file, ``s3://bucket`` (``abfs://container@account...``) and the key for object storage, ``https://host``
    and the path for a URL. A URL keeps no query, fragment or credentials: a signed URL's signature is no part
    of a name.

    :param location: a path, a storage URL or an http(s) URL.
    """
    parts = urlsplit(location)
    if parts.scheme in ("", "file"):
        return "file", parts.path
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}", parts.path
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def image_locations(fields: Mapping[str, Any]) -> Iterator[str]:
    """
    The images a request names by a file or an http(s) URL (an image given as Base64 has no location).

    :param fields: the request's fields (``image``, ``image_tail``, ``images``, ``image_list``; others are not read).
    """
    images = [fields.get("image"), fields.get("image_tail")]
    if isinstance(fields.get("images"), (list, tuple)):
        images += list(fields["images"])
    if isinstance(fields.get("image_list"), (list, tuple)):
        images += [
            item["image_url"] if isinstance(item, Mapping) and "image_url" in item else listed_image(item)
            for item in fields["image_list"]
        ]
    for image in images:
        if is_file_reference(image) or (isinstance(image, str) and image.startswith(("https://", "http://"))):
            yield str(image)


def media_locations(fields: Mapping[str, Any]) -> Iterator[str]:
    """
    The videos and audio a request names by URL (``video_url``, ``audio_url``, ``sound_file``, Omni's ``video_list``).

    :param fields: the request's fields (others are not read).
    """
    listed = fields.get("video_list")
    urls = [fields.get("video_url"), fields.get("audio_url"), fields.get("sound_file")]
    if isinstance(listed, (list, tuple)):
        urls += [item.get("video_url") for item in listed if isinstance(item, Mapping)]
    for url in urls:
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            yield url


def video_lineage(task: Mapping[str, Any] | None, fields: Mapping[str, Any], base_url: str) -> VideoLineage:
    """
    OpenLineage's view of one generation.

    Inputs: the images, videos and audio ``fields`` name by location, and the files Kling made when they were
    stored. Outputs: the stored videos and audio, or else those Kling made. The run carries the Kling task id as its
    external query, from the service at ``base_url``. A task that made no video (submitted only, failed)
    reports its inputs and its task id.

    :param task: the Kling task object as last seen (videos once it succeeded, ``stored_path`` on each one
        stored), or None when no task was submitted.
    :param fields: the request's fields as the operator holds them (images as the user named them).
    :param base_url: the API's base URL (its origin names the service).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    videos = task_videos(task) if task is not None else []
    audios = task_audios(task) if task is not None else []
    made = [video["url"] for video in videos] + [str(audio_url(audio)) for audio in audios]
    stored = [item["stored_path"] for item in videos + audios if "stored_path" in item]
    inputs = [*image_locations(fields), *media_locations(fields), *(made if stored else [])]
    run_facets: dict[str, RunFacet] = {}
    if task is not None:
        run_facets["externalQuery"] = ExternalQueryRunFacet(
            externalQueryId=task["task_id"], source=dataset_id(base_url)[0]
        )
    return OperatorLineage(
        inputs=[Dataset(*dataset_id(location)) for location in inputs],
        outputs=[Dataset(*dataset_id(location)) for location in stored or made],
        run_facets=run_facets,
    )
