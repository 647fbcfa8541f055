"""The endpoints as data: each one's route, fields and rules, and the request body built from an operator's fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from airflow_provider_kling.contract.audio import build_text_to_audio, build_video_to_audio
from airflow_provider_kling.contract.backends import BACKENDS, DEFAULT_BACKEND, Backend
from airflow_provider_kling.contract.effects import build_effects
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
    check_extra_fields,
    check_image,
    check_image_list,
    check_model,
    check_shots,
    check_shots_duration,
    check_source_video,
    check_text,
)
from airflow_provider_kling.contract.lip_sync import (
    FACE_FIELDS,
    FACE_SESSION_FIELDS,
    build_advanced_lip_sync,
    build_lip_sync,
    fill_face,
)
from airflow_provider_kling.contract.multi_elements import SESSION_FIELDS, build_multi_elements, fill_multi_elements
from airflow_provider_kling.contract.omni import build_omni_video
from airflow_provider_kling.exceptions import KlingValidationError

#: The request fields of ``POST /kling/v1/videos/text2video``, in the contract's order.
REQUEST_FIELDS = (
    "prompt",
    "negative_prompt",
    "model_name",
    "cfg_scale",
    "mode",
    "aspect_ratio",
    "duration",
    "sound",
    "camera_control",
    "callback_url",
    "external_task_id",
    "multi_shot",
    "shot_type",
    "multi_prompt",
    "watermark_info",
)


def split_request_fields(
    body: Mapping[str, Any], endpoint: Endpoint | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """
    A request body's fields that the contract knows, by their argument names, and the others.

    :param body: a request body as sent (fields by their names on the wire).
    :param endpoint: the endpoint it was sent to (default: text-to-video).
    """
    endpoint = endpoint or TEXT2VIDEO
    inner = body.get(endpoint.wrapper)
    if endpoint.wrapper_is_list and isinstance(inner, list) and len(inner) == 1:
        inner = inner[0]
    if endpoint.wrapped and isinstance(inner, Mapping):
        body = {**{name: value for name, value in body.items() if name != endpoint.wrapper}, **inner}
    on_the_wire = {dict(endpoint.renamed).get(name, name): name for name in endpoint.fields}
    known = {on_the_wire[name]: value for name, value in body.items() if name in on_the_wire}
    return known, {name: value for name, value in body.items() if name not in on_the_wire}


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


def _text2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
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


def _image2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
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


def _multi_image2video(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    model = check_model(given, MULTI_IMAGE_MODELS, extra_models)
    if "image_list" not in given:
        raise KlingValidationError(
            "image_list", f"is required: {MULTI_IMAGE_MIN_IMAGES} to {MULTI_IMAGE_MAX_IMAGES} images"
        )
    body: dict[str, Any] = {"model_name": model} if model is not None else {}
    body["image_list"] = check_image_list(given["image_list"])
    return {**body, **_prompt(given, backend, required=True), **_shared_fields(given, backend, model)}


def _video_extend(given: Mapping[str, Any], backend: Backend, extra_models: tuple[str, ...]) -> dict[str, Any]:
    if "video_id" not in given:
        raise KlingValidationError("video_id", "is required: the id of a video Kling made (task_result.videos[].id)")
    body = check_source_video(given, backend)
    return {**body, **_prompt(given, backend, required=False), **_shared_fields(given, backend, None)}


class EditingSession(NamedTuple):
    """
    How an endpoint's editing session is opened before its task (the session's calls answer at once, make no task).

    :param opens: the route that opens it, below ``/v1/videos/`` (``multi-elements/init-selection``).
    :param fields: the fields that open it, instead of going in the task's body.
    :param fill: completes the task's body (without those fields) from the opening answer, checking it fits.
    :param marks: the route that marks the element on a frame (``selections``), where the endpoint has one.
    """

    opens: str
    fields: tuple[str, ...]
    fill: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
    marks: str = ""


class Endpoint(NamedTuple):
    """
    One kind of Kling video task, as data: the hook, the operators, the trigger and the sandbox ask this.

    :param name: the last part of its route (``/v1/videos/<name>``), which is also how it is named in
        arguments (``endpoint="image2video"``).
    :param title: how messages name it.
    :param fields: the request fields it takes, in the contract's order (others go in ``extra_fields``).
    :param build: checks the given fields (those not None) for a backend and extra models; returns the body.
    :param takes_external_task_id: whether its reference documents ``external_task_id`` (so a task
        can be found by it, where the backend looks tasks up that way).
    :param renamed: (argument name, name on the wire) of fields whose argument cannot take the wire's name
        (``task_id`` is every Airflow task's own).
    :param wrapped: the fields (by their names on the wire) that go in the body's ``wrapper`` object.
    :param family: what it makes, the route's middle part: ``videos`` or ``audio``.
    :param session: how its editing session is opened before the task, where it has one.
    :param backends: the backends whose sources document how to submit and read its tasks.
    :param wrapper: the object the ``wrapped`` fields go in (``input``, or lip-sync's ``face_choose``).
    :param wrapper_is_list: whether that object is sent as a list of it alone.
    """

    name: str
    title: str
    fields: tuple[str, ...]
    build: Callable[[Mapping[str, Any], Backend, tuple[str, ...]], dict[str, Any]]
    takes_external_task_id: bool = True
    renamed: tuple[tuple[str, str], ...] = ()
    wrapped: tuple[str, ...] = ()
    family: str = "videos"
    session: EditingSession | None = None
    backends: tuple[str, ...] = tuple(BACKENDS)
    wrapper: str = "input"
    wrapper_is_list: bool = False

    @property
    def route(self) -> str:
        """Its route below a backend's path prefix; a task is queried at ``<route>/<task_id>``."""
        return f"/v1/{self.family}/{self.name}"


TEXT2VIDEO = Endpoint("text2video", "text-to-video", REQUEST_FIELDS, _text2video)

IMAGE2VIDEO = Endpoint(
    "image2video",
    "image-to-video",
    (
        "image",
        "image_tail",
        "prompt",
        "negative_prompt",
        "model_name",
        "cfg_scale",
        "mode",
        "duration",
        "camera_control",
        "callback_url",
        "external_task_id",
    ),
    _image2video,
)

MULTI_IMAGE2VIDEO = Endpoint(
    "multi-image2video",
    "multi-image-to-video",
    (
        "image_list",
        "prompt",
        "negative_prompt",
        "model_name",
        "cfg_scale",
        "mode",
        "duration",
        "aspect_ratio",
        "callback_url",
        "external_task_id",
    ),
    _multi_image2video,
)

#: Its reference documents no ``external_task_id``: a lost answer cannot be looked up by one on any backend.
VIDEO_EXTEND = Endpoint(
    "video-extend",
    "video extension",
    ("video_id", "parent_task_id", "prompt", "negative_prompt", "cfg_scale", "callback_url"),
    _video_extend,
    takes_external_task_id=False,
    renamed=(("parent_task_id", "task_id"),),
)

OMNI_VIDEO = Endpoint(
    "omni-video",
    "Omni video",
    (
        "prompt",
        "model_name",
        "mode",
        "aspect_ratio",
        "duration",
        "image_list",
        "element_list",
        "video_list",
        "sound",
        "multi_shot",
        "shot_type",
        "multi_prompt",
        "watermark_info",
        "callback_url",
        "external_task_id",
    ),
    build_omni_video,
)

MULTI_ELEMENTS = Endpoint(
    "multi-elements",
    "multi-elements",
    (
        "edit_mode",
        "prompt",
        *SESSION_FIELDS,
        "session_id",
        "image_list",
        "negative_prompt",
        "model_name",
        "mode",
        "duration",
        "callback_url",
        "external_task_id",
    ),
    build_multi_elements,
    session=EditingSession(
        "multi-elements/init-selection", SESSION_FIELDS, fill_multi_elements, "multi-elements/add-selection"
    ),
)

_EFFECT_INPUTS = ("image", "images", "model_name", "mode", "duration")

EFFECTS = Endpoint(
    "effects",
    "video effects",
    ("effect_scene", *_EFFECT_INPUTS, "callback_url", "external_task_id"),
    build_effects,
    wrapped=_EFFECT_INPUTS,
)

_LIP_SYNC_INPUTS = (
    "video_id",
    "video_url",
    "mode",
    "text",
    "voice_id",
    "voice_language",
    "voice_speed",
    "audio_type",
    "audio_file",
    "audio_url",
)

#: No source documents ``external_task_id`` for it: a lost answer cannot be looked up by one on any backend.
LIP_SYNC = Endpoint(
    "lip-sync",
    "lip-sync",
    ("video_id", "parent_task_id", *_LIP_SYNC_INPUTS[1:], "callback_url"),
    build_lip_sync,
    takes_external_task_id=False,
    renamed=(("parent_task_id", "task_id"),),
    wrapped=("task_id", *_LIP_SYNC_INPUTS),
)

#: Kling's two-step lip-sync: identify-face opens the session and finds the faces; the sound goes on one of them.
#: CometAPI documents its calls but no route to read its tasks, and the sources disagree on its external_task_id.
ADVANCED_LIP_SYNC = Endpoint(
    "advanced-lip-sync",
    "advanced lip-sync",
    (*FACE_SESSION_FIELDS, "session_id", *FACE_FIELDS, "callback_url"),
    build_advanced_lip_sync,
    takes_external_task_id=False,
    wrapped=FACE_FIELDS,
    session=EditingSession("identify-face", FACE_SESSION_FIELDS, fill_face),
    backends=("kling",),
    wrapper="face_choose",
    wrapper_is_list=True,
)

#: Sound for a video: the result holds the audio (``task_result.audios``) and the video with it.
VIDEO_TO_AUDIO = Endpoint(
    "video-to-audio",
    "video-to-audio",
    ("video_id", "video_url", "sound_effect_prompt", "bgm_prompt", "asmr_mode", "callback_url", "external_task_id"),
    build_video_to_audio,
    family="audio",
)

TEXT_TO_AUDIO = Endpoint(
    "text-to-audio",
    "text-to-audio",
    ("prompt", "duration", "callback_url", "external_task_id"),
    build_text_to_audio,
    family="audio",
)

ENDPOINTS = {
    endpoint.name: endpoint
    for endpoint in (
        TEXT2VIDEO,
        IMAGE2VIDEO,
        MULTI_IMAGE2VIDEO,
        VIDEO_EXTEND,
        OMNI_VIDEO,
        MULTI_ELEMENTS,
        EFFECTS,
        LIP_SYNC,
        ADVANCED_LIP_SYNC,
        VIDEO_TO_AUDIO,
        TEXT_TO_AUDIO,
    )
}


def endpoint_named(name: Any) -> Endpoint:
    """The endpoint called ``name``: one of :data:`ENDPOINTS`' keys (``text2video``, ``omni-video``...)."""
    return ENDPOINTS[check_choice("endpoint", name, ENDPOINTS)]


def build_request(
    endpoint: Endpoint,
    fields: Mapping[str, Any],
    *,
    backend: Backend = DEFAULT_BACKEND,
    extra_models: Iterable[str] = (),
    extra_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    Validate the fields of a request to ``endpoint`` and return the JSON body to send.

    Fields that are ``None`` are left out, so the service applies its defaults. Raises
    :class:`KlingValidationError`, naming the field, the bad value and what is allowed, on the first
    field that breaks the contract.

    :param endpoint: the kind of task (see :data:`ENDPOINTS`).
    :param fields: the request fields by name (see the endpoint's ``fields``).
    :param backend: the service the request goes to (its limits differ: see :class:`Backend`).
    :param extra_models: model names to accept beyond the known ones (Kling ships new ones often).
    :param extra_fields: fields the provider does not know yet, sent as given (see :func:`check_extra_fields`).
    """
    unknown = [name for name in fields if name not in endpoint.fields]
    if unknown:
        raise KlingValidationError(
            unknown[0],
            f"is not a {endpoint.title} field; allowed: {', '.join(endpoint.fields)} (others go in extra_fields)",
        )
    if backend.name not in endpoint.backends:
        raise KlingValidationError(
            "endpoint",
            f"{endpoint.name} is not available on the {backend.name} backend: no source documents how to read its "
            f"tasks there; it is served on: {', '.join(endpoint.backends)}",
        )
    given = {name: value for name, value in fields.items() if value is not None}
    body = endpoint.build(given, backend, tuple(extra_models))
    extra = check_extra_fields(extra_fields, (*endpoint.fields, *(wire for _, wire in endpoint.renamed)))
    return {**wrap(body, endpoint), **extra}


def wrap(body: Mapping[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """
    Return a flat body as sent, its ``wrapped`` fields in the endpoint's ``wrapper`` object.

    :param body: the body, flat.
    :param endpoint: the endpoint it goes to.
    """
    if not endpoint.wrapped:
        return dict(body)
    inner = {name: value for name, value in body.items() if name in endpoint.wrapped}
    outer = {name: value for name, value in body.items() if name not in endpoint.wrapped}
    return {**outer, endpoint.wrapper: [inner] if endpoint.wrapper_is_list else inner}


def build_text2video_request(
    fields: Mapping[str, Any],
    *,
    backend: Backend = DEFAULT_BACKEND,
    extra_models: Iterable[str] = (),
    extra_fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    :func:`build_request` for text-to-video. ``duration`` goes on the wire as a string; with
    ``multi_shot`` and ``shot_type="customize"`` it defaults to the sum of the shots' durations and
    must equal it.

    :param fields: the request fields by name (see :data:`REQUEST_FIELDS`).
    :param backend: the service the request goes to.
    :param extra_models: model names to accept beyond the known ones.
    :param extra_fields: fields the provider does not know yet, sent as given.
    """
    return build_request(TEXT2VIDEO, fields, backend=backend, extra_models=extra_models, extra_fields=extra_fields)


#: The longest text a logged request body shows whole (prompts fit; Base64 images do not).
LOGGED_TEXT_MAX_CHARS = 4096


def loggable_body(body: Any) -> Any:
    """
    A request body (or any JSON value) fit for a log line: long texts that are not URLs (Base64 images and
    masks) are shown by their length, at any depth.
    """
    if isinstance(body, Mapping):
        return {name: loggable_body(value) for name, value in body.items()}
    if isinstance(body, (list, tuple)):
        return [loggable_body(value) for value in body]
    if isinstance(body, str) and len(body) > LOGGED_TEXT_MAX_CHARS and not body.startswith(("https://", "http://")):
        return f"<{len(body)} characters, not logged>"
    return body
