"""The rules of the first video endpoints: text-to-video, image-to-video, several images to video, video extension."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.contract.backends import BACKENDS, Backend
from airflow_provider_kling.contract.fields import (
    ASPECT_RATIOS,
    DURATIONS,
    IMAGE_MODELS,
    IMAGES_ALLOWED,
    KNOWN_MODELS,
    LONG_DURATIONS,
    MODES,
    MULTI_IMAGE_MAX_IMAGES,
    MULTI_IMAGE_MIN_IMAGES,
    MULTI_IMAGE_MODELS,
    NO_CFG_SCALE_MODELS,
    SOUND_IN_PRO_ONLY_MODELS,
    SOUND_MODELS,
    SOUNDS,
    check_camera_control,
    check_cfg_scale,
    check_choice,
    check_delivery_fields,
    check_duration,
    check_image,
    check_image_list,
    check_model,
    check_shots,
    check_shots_duration,
    check_source_video,
    check_text,
)
from airflow_provider_kling.exceptions import KlingValidationError


def _prompt(given: Mapping[str, Any], backend: Backend, *, required: bool) -> dict[str, str]:
    if "prompt" not in given:
        if required:
            raise KlingValidationError("prompt", f"is required: 1 to {backend.prompt_max_chars} characters")
        return {}
    return {"prompt": check_text("prompt", given["prompt"], backend.prompt_max_chars, required=True)}


#: Text-to-video's durations for the models that take no longer ones (the same as other endpoints', a distinct tuple:
#: a refused one is told where longer ones are taken).
TEXT2VIDEO_DURATIONS = tuple(DURATIONS)


def _durations_note(backend: Backend, model: str | None) -> str:
    """Where a refused duration's allowed values hold, and where longer ones are taken."""
    note = f"on the {backend.name} backend with {model or 'the default model'}"
    if model in backend.long_duration_models:
        return note
    longer = [
        f"3 to 15 s with {', '.join(other.long_duration_models)} on the {other.name} backend"
        for other in BACKENDS.values()
        if other.long_duration_models
    ]
    return "; ".join([note, *longer])


def _long_durations(backend: Backend, model: str | None) -> tuple[str, ...]:
    """Text-to-video's durations: 3 to 15 s for the backend's long-duration models (no source says so elsewhere)."""
    return LONG_DURATIONS if model in backend.long_duration_models else TEXT2VIDEO_DURATIONS


def _shared_fields(
    given: Mapping[str, Any],
    backend: Backend,
    model: str | None,
    durations: tuple[str, ...] = DURATIONS,
    duration_note: str | None = None,
) -> dict[str, Any]:
    """The fields that mean the same on every endpoint that takes them, each checked where given."""
    body: dict[str, Any] = {}
    if "negative_prompt" in given:
        body["negative_prompt"] = check_text(
            "negative_prompt", given["negative_prompt"], backend.negative_prompt_max_chars
        )
    if "cfg_scale" in given:
        scale = check_cfg_scale(given["cfg_scale"])
        if model in NO_CFG_SCALE_MODELS:
            raise KlingValidationError("cfg_scale", f"is not supported by {model}; leave it unset for this model")
        body["cfg_scale"] = scale
    if "mode" in given:
        body["mode"] = check_choice("mode", given["mode"], MODES)
    if "aspect_ratio" in given:
        body["aspect_ratio"] = check_choice("aspect_ratio", given["aspect_ratio"], ASPECT_RATIOS)
    if "duration" in given:
        try:
            body["duration"] = check_duration("duration", given["duration"], durations)
        except KlingValidationError as error:
            if duration_note is None:
                raise
            raise KlingValidationError("duration", f"{error.problem} {duration_note}") from None
    if "camera_control" in given:
        body["camera_control"] = check_camera_control(given["camera_control"])
    return {**body, **check_delivery_fields(given)}


def build_text2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a text-to-video request's fields; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (its limits differ).
    :param extra_models: model names to accept beyond the known ones.
    """
    model = check_model(given, KNOWN_MODELS, extra_models)
    known_model = model in KNOWN_MODELS
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    body.update(check_shots(given, model, known_model))
    if "multi_prompt" not in body:
        body.update(_prompt(given, backend, required=True))
    note = _durations_note(backend, model)  # a refused duration is told where longer ones are taken
    body.update(_shared_fields(given, backend, model, _long_durations(backend, model), note))
    if "multi_prompt" in body:
        body["duration"] = check_shots_duration(body, _long_durations(backend, model))
    if "sound" in given:
        body["sound"] = check_choice("sound", given["sound"], SOUNDS)
        if known_model and model not in SOUND_MODELS:
            raise KlingValidationError(
                "sound", f"is not supported by {model}; models with generated audio: {', '.join(SOUND_MODELS)}"
            )
        if body["sound"] == "on" and model in SOUND_IN_PRO_ONLY_MODELS and body.get("mode") != "pro":
            raise KlingValidationError("sound", f"'on' needs mode='pro' with {model} (its std videos are silent)")
    return body


def build_image2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check an image-to-video request's fields; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (its limits differ).
    :param extra_models: model names to accept beyond the known ones.
    """
    model = check_model(given, IMAGE_MODELS, extra_models)
    images = {name: check_image(name, given[name]) for name in ("image", "image_tail") if name in given}
    if not images:
        raise KlingValidationError("image", f"is required (or image_tail, or both); {IMAGES_ALLOWED}")
    if "image" not in images and backend.image2video_needs_image:
        raise KlingValidationError(
            "image",
            f"is required on the {backend.name} backend, whose relay takes a request without it for text-to-video",
        )
    if "image_tail" in images and "camera_control" in given:
        raise KlingValidationError("camera_control", "cannot be used with image_tail (Kling takes one or the other)")
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    return {**body, **images, **_prompt(given, backend, required=False), **_shared_fields(given, backend, model)}


def build_multi_image2video(
    given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]
) -> dict[str, Any]:
    """
    Check a multi-image-to-video request's fields; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (its limits differ).
    :param extra_models: model names to accept beyond the known ones.
    """
    model = check_model(given, MULTI_IMAGE_MODELS, extra_models)
    if "image_list" not in given:
        raise KlingValidationError(
            "image_list", f"is required: {MULTI_IMAGE_MIN_IMAGES} to {MULTI_IMAGE_MAX_IMAGES} images"
        )
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    body["image_list"] = check_image_list(given["image_list"])
    return {**body, **_prompt(given, backend, required=True), **_shared_fields(given, backend, model)}


def build_video_extend(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    """
    Check a video extension's fields; return its body.

    :param given: the fields given (none None).
    :param backend: the service the request goes to (its limits differ).
    :param extra_models: model names to accept beyond the known ones (unused: an extension continues its video's model).
    """
    if "video_id" not in given:
        raise KlingValidationError("video_id", "is required: the id of a video Kling made (task_result.videos[].id)")
    body = check_source_video(given, backend)
    return {**body, **_prompt(given, backend, required=False), **_shared_fields(given, backend, None)}
