"""Files in and out: images read from storage before they are sent, and result videos stored where pipelines need them.

Everything goes through Airflow's ``ObjectStoragePath`` (``file://``, ``s3://``, ``gs://``... as the installed
providers support); the download itself is the hook's (:meth:`~airflow_provider_kling.hooks.kling.KlingHook.
download_video`), so the API key stays with the hook.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_kling.contract import (
    IMAGE_MAX_BYTES,
    audio_url,
    check_image_bytes,
    is_file_reference,
    listed_image,
    task_audios,
    task_videos,
)
from airflow_provider_kling.exceptions import KlingValidationError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

_OUTPUT_ALLOWED = (
    "allowed: an absolute path, a URL such as file:///data/videos, or an ObjectStoragePath, "
    "whose scheme has a filesystem installed (s3://, gs://... come with their provider)"
)


def read_image(field: str, value: Any) -> Any:
    """
    Return an image named by a path or ``ObjectStoragePath`` read, checked and encoded as Base64; any other value
    (a URL, Base64 text) as given.

    :param field: the request field, named in errors.
    :param value: the image as given.
    """
    if not is_file_reference(value):
        return value
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    text = str(value)
    try:
        path = (
            value
            if isinstance(value, ObjectStoragePath)
            else ObjectStoragePath(text if "://" in text else f"file://{text}")
        )
        with path.open("rb") as image:
            data = image.read(IMAGE_MAX_BYTES + 1)
    except Exception as error:  # any filesystem's refusal: missing file, permission, missing bucket...
        raise KlingValidationError(field, f"could not read {text!r} ({type(error).__name__}: {error})") from None
    return base64.b64encode(check_image_bytes(field, data)).decode()


def inline_images(fields: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the request fields with every image named by a path read into Base64 (before anything is sent).

    :param fields: the request fields by name.
    """
    inlined = dict(fields)
    for name in ("image", "image_tail"):
        if name in inlined:
            inlined[name] = read_image(name, inlined[name])
    if isinstance(inlined.get("image_list"), (list, tuple)):
        inlined["image_list"] = [_inline_listed(index, item) for index, item in enumerate(inlined["image_list"])]
    if isinstance(inlined.get("images"), (list, tuple)):
        inlined["images"] = [read_image(f"images[{index}]", item) for index, item in enumerate(inlined["images"])]
    return inlined


def _inline_listed(index: int, item: Any) -> Any:
    """An ``image_list`` item with its image read: ``{"image": ...}`` (multi-image) or ``{"image_url": ...}`` (Omni)."""
    if isinstance(item, Mapping) and "image_url" in item:
        return {**item, "image_url": read_image(f"image_list[{index}].image_url", item["image_url"])}
    return {"image": read_image(f"image_list[{index}]", listed_image(item))}


def output_folder(output_path: Any) -> ObjectStoragePath | None:
    """
    Return ``output_path`` as a folder whose filesystem is installed, or None when it is None; refuse a relative one.

    :param output_path: an operator's ``output_path``: a path, a URL or an ``ObjectStoragePath``.
    """
    if output_path is None:
        return None
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    written = str(output_path)
    # RFC 8089's host "localhost" is this machine; ObjectStoragePath would make it a folder named "localhost".
    local = f"file://{written.removeprefix('file://localhost')}" if written.startswith("file://localhost/") else None
    try:
        folder = output_path if isinstance(output_path, ObjectStoragePath) else ObjectStoragePath(local or output_path)
        folder.fs  # noqa: B018 - resolving the filesystem is the check
    except (TypeError, ValueError, AttributeError, ImportError) as error:
        raise KlingValidationError("output_path", f"got {output_path!r} ({error}); {_OUTPUT_ALLOWED}") from None
    relative_url = written.startswith("file://") and not written.startswith(("file:///", "file://localhost/"))
    # Read from the text as written: Airflow 2's ObjectStoragePath makes "videos" into "/videos".
    relative_path = "://" not in written and not written.startswith("/")
    if relative_url or relative_path:
        raise KlingValidationError("output_path", f"got {output_path!r}, a relative path; {_OUTPUT_ALLOWED}")
    return folder


def check_writable(folder: ObjectStoragePath | None) -> None:
    """
    Write and remove a small file in ``folder``, so that a folder nothing can be written to fails before paying.

    :param folder: the folder videos go to, or None (nothing is stored).
    """
    if folder is None:
        return
    probe = folder / f".kling-write-check-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Through the filesystem, not ObjectStoragePath: Airflow's hook lineage would name the probe an output.
        with folder.fs.open(probe.path, "wb"):
            pass
        probe.unlink()
    except Exception as error:  # any filesystem's refusal: permission, read-only, missing bucket...
        raise KlingValidationError(
            "output_path", f"got {str(folder)!r}, where nothing can be written ({type(error).__name__}: {error})"
        ) from None


def store_results(task: dict[str, Any], folder: ObjectStoragePath, download: Callable[[str, Any], int]) -> None:
    """
    Store each result video of a task in ``folder`` as ``<kling task id>_<n>.mp4``, and each result audio as
    ``<kling task id>_audio_<n>.mp3`` (``.wav`` when it has only a WAV), noting ``stored_path`` and ``stored_bytes``
    on its item of the task object.

    :param task: the succeeded task object.
    :param folder: where the files go.
    :param download: stores one file from its URL at a destination and returns its size (the hook's).
    """
    for index, video in enumerate(task_videos(task)):
        destination = folder / f"{task['task_id']}_{index}.mp4"
        video["stored_bytes"] = download(video["url"], destination)
        video["stored_path"] = str(destination)
    for index, audio in enumerate(task_audios(task)):
        url = str(audio_url(audio))
        destination = folder / f"{task['task_id']}_audio_{index}.{'mp3' if url == audio.get('url_mp3') else 'wav'}"
        audio["stored_bytes"] = download(url, destination)
        audio["stored_path"] = str(destination)
