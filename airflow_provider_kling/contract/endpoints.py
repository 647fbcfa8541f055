"""The endpoints as data: each one's route, fields and rules, and the request body built from an operator's fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from airflow_provider_kling.contract.audio import build_text_to_audio, build_video_to_audio
from airflow_provider_kling.contract.backends import BACKENDS, DEFAULT_BACKEND, Backend
from airflow_provider_kling.contract.effects import build_effects
from airflow_provider_kling.contract.fields import (
    check_choice,
    check_extra_fields,
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
from airflow_provider_kling.contract.sessions import EditingSession
from airflow_provider_kling.contract.videos import (
    build_image2video,
    build_multi_image2video,
    build_text2video,
    build_video_extend,
)
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


TEXT2VIDEO = Endpoint("text2video", "text-to-video", REQUEST_FIELDS, build_text2video)

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
    build_image2video,
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
    build_multi_image2video,
)

#: Its reference documents no ``external_task_id``: a lost answer cannot be looked up by one on any backend.
VIDEO_EXTEND = Endpoint(
    "video-extend",
    "video extension",
    ("video_id", "parent_task_id", "prompt", "negative_prompt", "cfg_scale", "callback_url"),
    build_video_extend,
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
    check_served(endpoint, backend)
    given = {name: value for name, value in fields.items() if value is not None}
    body = endpoint.build(given, backend, tuple(extra_models))
    taken = [*endpoint.fields, *(wire for _, wire in endpoint.renamed)]
    if endpoint.wrapped:
        taken.append(endpoint.wrapper)  # the object the provider builds from checked fields
    extra = check_extra_fields(extra_fields, taken)
    return {**wrap(body, endpoint), **extra}


def check_served(endpoint: Endpoint, backend: Backend) -> None:
    """
    Refuse an endpoint on a backend whose sources do not document how to submit and read its tasks.

    :param endpoint: the endpoint.
    :param backend: the service the request would go to.
    """
    if backend.name not in endpoint.backends:
        raise KlingValidationError(
            "endpoint",
            f"{endpoint.name} is not available on the {backend.name} backend: no source documents how to read its "
            f"tasks there; use a connection whose backend is {' or '.join(endpoint.backends)}"
            + (", or lip-sync (KlingLipSyncOperator)" if endpoint.name == "advanced-lip-sync" else ""),
        )


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
