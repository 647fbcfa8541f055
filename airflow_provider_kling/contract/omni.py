"""Omni video's rules (``/v1/videos/omni-video``): one prompt over reference images, elements and a video."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import Backend
from airflow_provider_kling.contract.fields import (
    ASPECT_RATIOS,
    LONG_DURATIONS,
    SOUNDS,
    check_choice,
    check_delivery_fields,
    check_duration,
    check_image,
    check_media_url,
    check_shots,
    check_shots_duration,
    check_text,
    shown,
)
from airflow_provider_kling.contract.models import MODELS, models_for
from airflow_provider_kling.exceptions import KlingValidationError

#: Omni video's prompt, on both backends (CometAPI's Omni page says 2,500 too).
OMNI_PROMPT_MAX_CHARS = 2500

#: A reference image's role: the first or the last frame (none: a reference for the look).
FRAME_TYPES = ("first_frame", "end_frame")

#: How a reference video is used: ``base`` (the video to edit) or ``feature`` (a reference for the motion and style).
REFER_TYPES = ("base", "feature")

#: Images and elements together, without a reference video and with one.
MAX_REFERENCES, MAX_REFERENCES_WITH_VIDEO = 7, 4

#: The longest video a request with a reference video renders.
MAX_SECONDS_WITH_VIDEO = 10

#: The model the service renders with when a request names none.
DEFAULT_OMNI_MODEL = "kling-video-o1"

#: Durations of text-only and first-frame requests on kling-video-o1 (other durations need a reference video).
O1_PLAIN_DURATIONS = ("5", "10")


def _image_list(value: Any) -> list[dict[str, str]]:
    field = "image_list"
    if not isinstance(value, (list, tuple)) or not value:
        raise KlingValidationError(
            field, f'got {shown(value)}; allowed: a list of images like {{"image_url": ..., "type": "first_frame"}}'
        )
    images = []
    for index, item in enumerate(value):
        name = f"{field}[{index}]"
        if not isinstance(item, Mapping) or "image_url" not in item or not set(item) <= {"image_url", "type"}:
            raise KlingValidationError(name, f"got {shown(item)}; allowed: a dict with image_url (and type)")
        image = {"image_url": check_image(f"{name}.image_url", item["image_url"])}
        if "type" in item:
            image["type"] = check_choice(f"{name}.type", item["type"], FRAME_TYPES)
        images.append(image)
    types = [image.get("type") for image in images]
    if any(types.count(kind) > 1 for kind in FRAME_TYPES):
        raise KlingValidationError(field, "holds two images of the same type; allowed: one first_frame, one end_frame")
    if "end_frame" in types and "first_frame" not in types:
        raise KlingValidationError(field, "has an end_frame without a first_frame; add the first frame")
    return images


def _element_list(value: Any) -> list[dict[str, int]]:
    if not isinstance(value, (list, tuple)) or not value:
        raise KlingValidationError(
            "element_list", f'got {shown(value)}; allowed: a list like [{{"element_id": 123}}] (ids from Kling)'
        )
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) != {"element_id"} or not _is_id(item["element_id"]):
            raise KlingValidationError(
                f"element_list[{index}]", f'got {shown(item)}; allowed: {{"element_id": <a whole number>}}'
            )
    return [{"element_id": item["element_id"]} for item in value]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _video_list(value: Any) -> list[dict[str, str]]:
    field = "video_list"
    if not isinstance(value, (list, tuple)) or len(value) != 1:
        raise KlingValidationError(
            field, f'got {shown(value)}; allowed: a list of one video like {{"video_url": ..., "refer_type": "base"}}'
        )
    item = value[0]
    if not isinstance(item, Mapping) or "video_url" not in item:
        raise KlingValidationError(f"{field}[0]", f"got {shown(item)}; allowed: a dict with video_url")
    unknown = set(item) - {"video_url", "refer_type", "keep_original_sound"}
    if unknown:
        raise KlingValidationError(
            f"{field}[0]", f"unknown keys {sorted(unknown)}; allowed: video_url, refer_type, keep_original_sound"
        )
    video = {
        "video_url": check_media_url(f"{field}[0].video_url", item["video_url"]),
        "refer_type": check_choice(f"{field}[0].refer_type", item.get("refer_type", "base"), REFER_TYPES),
    }
    if "keep_original_sound" in item:
        video["keep_original_sound"] = check_choice(
            f"{field}[0].keep_original_sound", item["keep_original_sound"], ("yes", "no")
        )
    return [video]


def _durations(model: str | None, video: dict[str, str] | None) -> tuple[str, ...]:
    spec = MODELS.get(model or DEFAULT_OMNI_MODEL)
    if spec is None:  # a model of the connection's extra_models: the service judges its durations
        return LONG_DURATIONS
    if video is not None:
        return tuple(seconds for seconds in spec.omni_durations if int(seconds) <= MAX_SECONDS_WITH_VIDEO)
    return O1_PLAIN_DURATIONS if spec.name == DEFAULT_OMNI_MODEL else spec.omni_durations


def build_omni_video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check an Omni video request's fields for a backend; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (CometAPI documents kling-video-o1 only).
    :param extra_models: model names to accept beyond the known ones.
    """
    known = models_for("omni-video", backend.name)
    model = given.get("model_name")
    if model is not None and model not in (*known, *extra_models):
        others = [name for name in models_for("omni-video") if name not in known]
        elsewhere = f"; {', '.join(others)} only on the kling backend" if others else ""
        raise KlingValidationError(
            "model_name",
            f"got {shown(model)}; allowed on the {backend.name} backend: {', '.join(known)}{elsewhere} "
            "(or add the name to the connection's extra_models)",
        )
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    shot_models = tuple(name for name in models_for("omni-video") if MODELS[name].multi_shot)
    body.update(check_shots(given, model, model in MODELS, shot_models))
    if "prompt" in given:
        body["prompt"] = check_text("prompt", given["prompt"], OMNI_PROMPT_MAX_CHARS, required=True)
    elif "multi_prompt" not in body:
        raise KlingValidationError("prompt", f"is required: 1 to {OMNI_PROMPT_MAX_CHARS} characters")
    images = _image_list(given["image_list"]) if "image_list" in given else []
    elements = _element_list(given["element_list"]) if "element_list" in given else []
    videos = _video_list(given["video_list"]) if "video_list" in given else []
    video = videos[0] if videos else None
    most = MAX_REFERENCES_WITH_VIDEO if video else MAX_REFERENCES
    if len(images) + len(elements) > most:
        with_video = "with a reference video" if video else "without a reference video"
        raise KlingValidationError(
            "image_list",
            f"and element_list hold {len(images) + len(elements)} references; allowed {with_video}: {most}",
        )
    edits = video is not None and video["refer_type"] == "base"
    if edits and any("type" in image for image in images):
        raise KlingValidationError("image_list", "holds a frame, but a video to edit (refer_type 'base') sets them")
    for name, value in (("image_list", images), ("element_list", elements), ("video_list", videos)):
        if value:
            body[name] = value
    if "mode" in given:
        body["mode"] = check_choice("mode", given["mode"], ("std", "pro"))
    framed = edits or any(image.get("type") == "first_frame" for image in images)
    if "aspect_ratio" in given and framed:
        what = "the video to edit" if edits else "the first frame"
        raise KlingValidationError("aspect_ratio", f"is set by {what}; leave it unset")
    if "aspect_ratio" in given:
        body["aspect_ratio"] = check_choice("aspect_ratio", given["aspect_ratio"], ASPECT_RATIOS)
    elif not framed:
        raise KlingValidationError(
            "aspect_ratio",
            f"is required without a first frame or a video to edit; allowed: {', '.join(ASPECT_RATIOS)}",
        )
    if body.get("multi_shot") and edits:
        raise KlingValidationError("multi_shot", "cannot edit a video (refer_type 'base'): its shots are its own")
    if "duration" in given and edits:
        raise KlingValidationError("duration", "is the edited video's own (refer_type 'base'); leave it unset")
    note = f" with {model or DEFAULT_OMNI_MODEL}" + (" and a reference video" if video else "")
    if "duration" in given:
        try:
            body["duration"] = check_duration("duration", given["duration"], _durations(model, video))
        except KlingValidationError as error:
            raise KlingValidationError("duration", f"{error.problem}{note}") from None
    if "multi_prompt" in body:
        body["duration"] = check_shots_duration(body, _durations(model, video))
    if "sound" in given:
        body["sound"] = check_choice("sound", given["sound"], SOUNDS)
        spec = MODELS.get(model or DEFAULT_OMNI_MODEL)
        if body["sound"] == "on" and video is not None:
            raise KlingValidationError(
                "sound", "must be 'off' with a reference video (keep_original_sound keeps its own)"
            )
        if body["sound"] == "on" and spec is not None and not spec.sound:
            with_sound = [name for name in models_for("omni-video") if MODELS[name].sound]
            raise KlingValidationError(
                "sound", f"'on' is not supported by {spec.name}; Omni models with audio: {', '.join(with_sound)}"
            )
    return {**body, **check_delivery_fields(given)}
