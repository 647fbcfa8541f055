"""
Fast: Kling's other video endpoints (image-to-video, multi-image, video extension) as one contract with
text-to-video: their fields both ways, images read from storage before anything is paid for, each task queried
on its own route, and each operator's tries safe to retry. Against the sandbox over loopback where HTTP is needed.
"""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import pytest
from airflow.exceptions import AirflowException
from airflow.providers.common.compat.sdk import ObjectStoragePath
from conftest import REPO
from support.task_context import StateStore, task_context

from airflow_provider_kling.contract import (
    COMETAPI,
    IMAGE2VIDEO,
    IMAGE_MAX_BYTES,
    KLING,
    MULTI_IMAGE2VIDEO,
    VIDEO_EXTEND,
    build_request,
    endpoint_named,
    is_file_reference,
    loggable_body,
    split_request_fields,
)
from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingTaskNotFoundError,
    KlingValidationError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.audio import KlingTextToAudioOperator, KlingVideoToAudioOperator
from airflow_provider_kling.operators.effects import KlingVideoEffectsOperator
from airflow_provider_kling.operators.image2video import KlingImage2VideoOperator
from airflow_provider_kling.operators.kling import KlingText2VideoOperator, KlingVideoOperator
from airflow_provider_kling.operators.lip_sync import KlingAdvancedLipSyncOperator, KlingLipSyncOperator
from airflow_provider_kling.operators.multi_elements import KlingMultiElementsOperator
from airflow_provider_kling.operators.multi_image2video import KlingMultiImage2VideoOperator
from airflow_provider_kling.operators.omni_video import KlingOmniVideoOperator
from airflow_provider_kling.operators.video_extend import KlingVideoExtendOperator
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY

STILL_PATH = REPO / "example_dags" / "still.png"
STILL = base64.b64encode(STILL_PATH.read_bytes()).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(64)).decode()
GIF = base64.b64encode(b"GIF89a" + bytes(64)).decode()
URL = "https://images.example/still.png"


def _refused(endpoint, fields: dict[str, Any], **kwargs: Any) -> KlingValidationError:
    with pytest.raises(KlingValidationError) as raised:
        build_request(endpoint, fields, **kwargs)
    return raised.value


@pytest.mark.parametrize(
    ("endpoint", "backend", "fields"),
    [
        (IMAGE2VIDEO, COMETAPI, {"image": URL}),
        (IMAGE2VIDEO, COMETAPI, {"image": STILL, "image_tail": JPEG, "prompt": "dawn", "model_name": "kling-v2-1"}),
        (IMAGE2VIDEO, KLING, {"image_tail": URL, "duration": "10", "mode": "pro", "cfg_scale": 0.3}),
        (
            MULTI_IMAGE2VIDEO,
            COMETAPI,
            {"image_list": [{"image": URL}, {"image": STILL}], "prompt": "a", "aspect_ratio": "1:1", "cfg_scale": 0.2},
        ),
        (VIDEO_EXTEND, KLING, {"video_id": "993f3e4d-4f7b", "prompt": "and then", "cfg_scale": 0.5}),
    ],
    ids=["url", "both-frames", "tail-only-on-kling", "multi", "extend-on-kling"],
)
def test_good_requests_go_on_the_wire_as_given(endpoint, backend, fields):
    assert build_request(endpoint, fields, backend=backend) == fields


def test_an_extension_names_its_parent_task_as_task_id_which_cometapi_requires():
    fields = {"video_id": "993f3e4d-4f7b", "parent_task_id": "860001"}
    assert build_request(VIDEO_EXTEND, fields) == {"video_id": "993f3e4d-4f7b", "task_id": "860001"}
    assert build_request(VIDEO_EXTEND, fields, backend=KLING)["task_id"] == "860001"
    error = _refused(VIDEO_EXTEND, {"video_id": "993f3e4d-4f7b"})
    assert error.field == "parent_task_id" and "is required on the cometapi backend" in str(error)
    assert split_request_fields({"task_id": "860001", "video_id": "v", "seed": 1}, VIDEO_EXTEND) == (
        {"parent_task_id": "860001", "video_id": "v"},
        {"seed": 1},
    )


def test_on_cometapi_an_image_to_video_request_needs_its_first_frame():
    error = _refused(IMAGE2VIDEO, {"image_tail": URL})
    assert error.field == "image" and "is required on the cometapi backend" in str(error)


def test_plain_images_in_an_image_list_are_sent_as_kling_documents_them():
    body = build_request(MULTI_IMAGE2VIDEO, {"image_list": [URL, STILL], "prompt": "a"})
    assert body["image_list"] == [{"image": URL}, {"image": STILL}]


def test_base64_wrapped_in_lines_is_sent_on_one_line():
    wrapped = "\n".join(STILL[index : index + 76] for index in range(0, len(STILL), 76))
    assert build_request(IMAGE2VIDEO, {"image": wrapped})["image"] == STILL


ALLOWED_IMAGES = "allowed: an http(s) URL, a path or ObjectStoragePath of a .jpg, .jpeg or .png file, or its Base64"


@pytest.mark.parametrize(
    ("endpoint", "fields", "field", "says"),
    [
        (IMAGE2VIDEO, {"prompt": "a"}, "image", "is required (or image_tail, or both); " + ALLOWED_IMAGES),
        (IMAGE2VIDEO, {"image": GIF}, "image", "is not a JPEG or PNG image; " + ALLOWED_IMAGES),
        (
            IMAGE2VIDEO,
            {"image": "file:///etc/hostname"},
            "image",
            "got 'file:///etc/hostname', neither a URL nor Base64; " + ALLOWED_IMAGES,
        ),
        (
            IMAGE2VIDEO,
            {"image": URL, "model_name": "kling-v2-1", "cfg_scale": 0.5},
            "cfg_scale",
            "is not supported by kling-v2-1; leave it unset for this model",
        ),
        (
            IMAGE2VIDEO,
            {"image": URL, "model_name": "kling-v1-6", "duration": "12"},
            "duration",
            "got '12'; allowed: 5, 10",
        ),
        (
            IMAGE2VIDEO,
            {"image": f"data:image/png;base64,{STILL}"},
            "image",
            "starts with a data: prefix; allowed: the Base64 text alone (Kling's rule)",
        ),
        (
            IMAGE2VIDEO,
            {"image": "not base64!"},
            "image",
            "got 'not base64!', neither a URL nor Base64; " + ALLOWED_IMAGES,
        ),
        (IMAGE2VIDEO, {"image": ""}, "image", "got ''; " + ALLOWED_IMAGES),
        (IMAGE2VIDEO, {"image": 7}, "image", "got 7; " + ALLOWED_IMAGES),
        (IMAGE2VIDEO, {"image_tail": GIF}, "image_tail", "is not a JPEG or PNG image; " + ALLOWED_IMAGES),
        (
            IMAGE2VIDEO,
            {"image": URL, "image_tail": URL, "camera_control": {"type": "down_back"}},
            "camera_control",
            "cannot be used with image_tail (Kling takes one or the other)",
        ),
        (
            IMAGE2VIDEO,
            {"image": URL, "aspect_ratio": "1:1"},
            "aspect_ratio",
            "is not a image-to-video field; allowed: image, image_tail, prompt, negative_prompt, model_name, "
            "cfg_scale, mode, duration, camera_control, callback_url, external_task_id (others go in extra_fields)",
        ),
        (
            IMAGE2VIDEO,
            {"image": URL, "model_name": "kling-v9"},
            "model_name",
            "got 'kling-v9'; allowed: kling-v1, kling-v1-5, kling-v1-6, kling-v2-master, kling-v2-1, "
            "kling-v2-1-master, kling-v2-5-turbo (a newer model: add its name to the connection's extra_models)",
        ),
        (IMAGE2VIDEO, {"image": URL, "duration": 7}, "duration", "got '7'; allowed: 5, 10"),
        (MULTI_IMAGE2VIDEO, {"prompt": "a"}, "image_list", "is required: 2 to 4 images"),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": [URL], "prompt": "a"},
            "image_list",
            "got ['https://images.example/still.png']; allowed: a list of 2 to 4 images (URLs, paths or Base64)",
        ),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": [URL] * 5, "prompt": "a"},
            "image_list",
            "got ['https://images.example/still.png', 'https://imag... (5 items); "
            "allowed: a list of 2 to 4 images (URLs, paths or Base64)",
        ),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": URL, "prompt": "a"},
            "image_list",
            "got 'https://images.example/still.png'; allowed: a list of 2 to 4 images (URLs, paths or Base64)",
        ),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": [URL, GIF], "prompt": "a"},
            "image_list[1]",
            "is not a JPEG or PNG image; " + ALLOWED_IMAGES,
        ),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": [{"image": URL, "x": 1}, URL], "prompt": "a"},
            "image_list[0]",
            "got {'image': 'https://images.example/still.png', 'x': 1}; " + ALLOWED_IMAGES,
        ),
        (MULTI_IMAGE2VIDEO, {"image_list": [URL, URL]}, "prompt", "is required: 1 to 500 characters"),
        (
            MULTI_IMAGE2VIDEO,
            {"image_list": [URL, URL], "prompt": "a", "model_name": "kling-v3"},
            "model_name",
            "got 'kling-v3'; allowed: kling-v1-6 (a newer model: add its name to the connection's extra_models)",
        ),
        (
            VIDEO_EXTEND,
            {"prompt": "a"},
            "video_id",
            "is required: the id of a video Kling made (task_result.videos[].id)",
        ),
        (
            VIDEO_EXTEND,
            {"video_id": ""},
            "video_id",
            "got ''; allowed: the id of a video Kling made (task_result.videos[].id): letters, digits, '-' and '_'",
        ),
        (
            VIDEO_EXTEND,
            {"video_id": "a b"},
            "video_id",
            "got 'a b'; allowed: the id of a video Kling made (task_result.videos[].id): letters, digits, '-' and '_'",
        ),
        (
            VIDEO_EXTEND,
            {"video_id": 42},
            "video_id",
            "got 42; allowed: the id of a video Kling made (task_result.videos[].id): letters, digits, '-' and '_'",
        ),
        (
            VIDEO_EXTEND,
            {"video_id": "v1", "duration": "5"},
            "duration",
            "is not a video extension field; allowed: video_id, parent_task_id, prompt, negative_prompt, cfg_scale, "
            "callback_url (others go in extra_fields)",
        ),
        (
            VIDEO_EXTEND,
            {"video_id": "v1", "external_task_id": "x"},
            "external_task_id",
            "is not a video extension field; allowed: video_id, parent_task_id, prompt, negative_prompt, cfg_scale, "
            "callback_url (others go in extra_fields)",
        ),
    ],
)
def test_bad_requests_are_refused_naming_the_field_and_what_is_allowed(endpoint, fields, field, says):
    error = _refused(endpoint, fields)
    assert error.field == field and str(error) == f"Invalid {field}: {says}"


def test_an_image_over_10_mib_is_refused(monkeypatch):
    big = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_MAX_BYTES - 7)).decode()
    error = _refused(IMAGE2VIDEO, {"image": big})
    assert error.field == "image" and "is larger than 10 MiB; allowed: at most 10485760 bytes" in str(error)


def test_an_image_of_exactly_the_largest_size_is_taken(monkeypatch):
    from airflow_provider_kling.contract import fields

    monkeypatch.setattr(fields, "IMAGE_MAX_BYTES", 64)  # the bound's arithmetic, on a small image
    exactly = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(56)).decode()
    assert build_request(IMAGE2VIDEO, {"image": exactly})["image"] == exactly
    assert (
        _refused(IMAGE2VIDEO, {"image": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(57)).decode()}).field == "image"
    )


@pytest.mark.parametrize(
    ("endpoint", "extra", "held"),
    [
        (IMAGE2VIDEO, {"image_tail": URL}, "image_tail"),
        (VIDEO_EXTEND, {"external_task_id": "x"}, "external_task_id"),
        (VIDEO_EXTEND, {"task_id": "860001"}, "task_id"),
    ],
)
def test_extra_fields_may_not_hold_a_field_the_provider_manages(endpoint, extra, held):
    fields = {"image": URL} if endpoint is IMAGE2VIDEO else {"video_id": "v1", "parent_task_id": "860001"}
    error = _refused(endpoint, fields, extra_fields=extra)
    assert error.field == "extra_fields" and f"holds {held};" in str(error)


def test_extra_fields_the_provider_does_not_know_are_sent():
    assert build_request(IMAGE2VIDEO, {"image": URL}, extra_fields={"static_mask": URL})["static_mask"] == URL


def test_an_unknown_endpoint_is_refused_listing_the_known_ones():
    with pytest.raises(KlingValidationError, match="allowed: text2video, image2video, multi-image2video, video-extend"):
        endpoint_named("upscale")


def test_logged_bodies_show_long_texts_by_their_length_at_any_depth_and_urls_and_prompts_whole():
    mask = "A" * 4097
    long_url = f"https://images.example/{'x' * 5000}.png"
    body = {"image": mask, "image_tail": long_url, "dynamic_masks": [{"mask": mask}], "prompt": "p" * 4096}
    assert loggable_body(body) == {
        "image": "<4097 characters, not logged>",
        "image_tail": long_url,
        "dynamic_masks": [{"mask": "<4097 characters, not logged>"}],
        "prompt": "p" * 4096,
    }


@pytest.mark.parametrize(
    "given",
    [str(STILL_PATH), f"file://{STILL_PATH}", STILL_PATH, ObjectStoragePath(f"file://{STILL_PATH}")],
    ids=["path", "file-url", "pathlib", "object-storage"],
)
def test_images_named_by_a_path_are_read_and_sent_as_base64(cometapi_sandbox, given):
    task = KlingHook().create_task("image2video", image=given, image_tail=URL)
    assert cometapi_sandbox.submissions == [{"image": STILL, "image_tail": URL}]
    assert cometapi_sandbox.tasks[task["task_id"]].endpoint == "image2video"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_MAX_BYTES), "is larger than 10 MiB"),
        (b"GIF89a" + bytes(100), "is not a JPEG or PNG image"),
        (None, "could not read"),
    ],
    ids=["oversized", "gif", "missing"],
)
def test_a_bad_image_file_fails_before_any_request(cometapi_sandbox, tmp_path, content, says):
    path = tmp_path / "still.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KlingValidationError, match=says) as raised:
        KlingHook().create_task("multi-image2video", image_list=[URL, str(path)], prompt="a")
    assert raised.value.field == "image_list[1]"
    assert cometapi_sandbox.requests == []


def test_extending_a_video_kling_does_not_know_is_refused_once_not_retried(sandbox):
    with pytest.raises(KlingInvalidRequestError, match="is no video of this account"):
        KlingHook().create_task("video-extend", video_id="993f3e4d-4f7b", parent_task_id="860001")
    assert sandbox.requests == [("POST", sandbox.backend.path("/v1/videos/video-extend"))]


def test_each_task_is_queried_on_its_own_endpoints_route(sandbox):
    hook = KlingHook()
    task = hook.create_task("image2video", image=URL)
    assert hook.get_task(task["task_id"], "image2video")["task_id"] == task["task_id"]
    with pytest.raises(KlingTaskNotFoundError):
        hook.get_task(task["task_id"])  # the text-to-video route knows no image-to-video task


def test_on_klings_own_api_a_lost_image_submission_is_found_by_its_external_task_id(kling_sandbox):
    kling_sandbox.inject(Fault(drop=True, method="POST"))
    task = KlingHook().create_task("image2video", image=URL, external_task_id="still-1")
    assert len(kling_sandbox.tasks) == 1 and task["task_id"] in kling_sandbox.tasks
    route = kling_sandbox.backend.path("/v1/videos/image2video")
    assert ("GET", f"{route}/still-1") in kling_sandbox.requests


def test_a_lost_extension_cannot_be_looked_up_on_any_backend_so_the_policy_decides(sandbox):
    sandbox.render_seconds = 0
    source = _source()
    sandbox.inject(Fault(drop=True, method="POST"))
    with pytest.raises(KlingSubmissionUnknownError, match="may have created a task"):
        KlingHook(retry_delay=0).create_task("video-extend", **source, on_unknown_submission="fail")
    assert len(sandbox.tasks) == 2  # the source and the lost extension: not sent again


def _source() -> dict[str, str]:
    """An image-to-video task that has ended, as the arguments of its extension: its video and itself."""
    task_id = KlingHook().create_task("image2video", image=URL)["task_id"]
    return {"video_id": f"{task_id}-0", "parent_task_id": task_id}


def _base(context: dict[str, Any]) -> str:
    return KlingText2VideoOperator._derived_id(context)


@pytest.mark.parametrize(
    "operator",
    [
        lambda: KlingImage2VideoOperator(task_id="animate", image=str(STILL_PATH), poll_interval=0.05),
        lambda: KlingMultiImage2VideoOperator(task_id="combine", image_list=[URL, URL], prompt="a", poll_interval=0.05),
    ],
    ids=["image2video", "multi-image2video"],
)
def test_a_retry_of_an_image_operator_takes_the_earlier_generation_instead_of_paying_again(sandbox, operator):
    first_try = task_context()
    first = operator().execute(first_try)
    retry = task_context(try_number=2, store=StateStore(first_try["task_state_store"]))
    assert operator().execute(retry)["task_id"] == first["task_id"]
    assert len(sandbox.submissions) == 1
    assert sandbox.submissions[0]["external_task_id"] == _base(first_try)


def test_a_video_extension_records_no_external_task_id_and_a_lost_one_follows_the_policy(sandbox):
    sandbox.render_seconds = 0
    source = _source()
    store = StateStore({SUBMISSION_STATE_KEY: {"generation": 1}})  # an earlier try's answer was lost
    operator = KlingVideoExtendOperator(task_id="extend", **source, on_unknown_submission="fail")
    with pytest.raises(KlingSubmissionUnknownError) as raised:
        operator.execute(task_context(try_number=2, store=store))
    assert str(raised.value).startswith(
        "An earlier try submitted a video-extend task but never learnt its task_id, and that endpoint takes no "
        "external_task_id to look it up by. Not submitting again"
    )
    context = task_context()
    task = KlingVideoExtendOperator(task_id="extend", **source, poll_interval=0.05).execute(context)
    assert context["task_state_store"][SUBMISSION_STATE_KEY] == {"generation": 1, "task_id": task["task_id"]}
    assert sandbox.submissions[-1] == {"video_id": source["video_id"], "task_id": source["parent_task_id"]}


def test_operators_check_their_parse_time_arguments():
    with pytest.raises(KlingValidationError, match="cfg_scale"):
        KlingVideoExtendOperator(task_id="extend", video_id="v1", cfg_scale=2)
    with pytest.raises(KlingValidationError, match="camera_control"):
        KlingImage2VideoOperator(task_id="animate", image=URL, camera_control={"type": "spin"})
    with pytest.raises((TypeError, AirflowException), match="external_task_id"):  # AirflowException before 3.0
        KlingVideoExtendOperator(task_id="extend", video_id="v1", external_task_id="x")
    with pytest.raises(KlingValidationError, match="image"):
        KlingImage2VideoOperator(task_id="animate", prompt="nothing to animate")
    assert pathlib.Path(STILL_PATH).stat().st_size < 4096  # the example image stays small


def test_an_extension_of_another_tasks_video_is_refused_on_cometapi(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 0
    source, other = _source(), _source()
    with pytest.raises(KlingInvalidRequestError, match="did not make video"):
        KlingHook().create_task("video-extend", video_id=source["video_id"], parent_task_id=other["parent_task_id"])


def test_a_retry_whose_image_is_gone_still_takes_up_the_generation_it_paid_for(sandbox, tmp_path):
    image = tmp_path / "still.png"
    image.write_bytes(STILL_PATH.read_bytes())
    first_try = task_context()
    first = KlingImage2VideoOperator(task_id="animate", image=str(image), wait_for_completion=False).execute(first_try)
    image.unlink()  # cleaned up, or this try runs on a worker that never had it
    retry = task_context(try_number=2, store=StateStore(first_try["task_state_store"]))
    again = KlingImage2VideoOperator(task_id="animate", image=str(image), poll_interval=0.05).execute(retry)
    assert again["task_id"] == first["task_id"] and again["task_status"] == "succeed"
    assert len(sandbox.submissions) == 1


@pytest.mark.parametrize(
    "operator",
    [
        KlingText2VideoOperator,
        KlingImage2VideoOperator,
        KlingMultiImage2VideoOperator,
        KlingVideoExtendOperator,
        KlingOmniVideoOperator,
        KlingMultiElementsOperator,
        KlingVideoEffectsOperator,
        KlingLipSyncOperator,
        KlingAdvancedLipSyncOperator,
        KlingVideoToAudioOperator,
        KlingTextToAudioOperator,
    ],
)
def test_every_field_of_an_operators_endpoint_is_one_of_its_arguments(operator):
    import inspect

    arguments = set(inspect.signature(operator.__init__).parameters)
    shared = set(inspect.signature(KlingVideoOperator.__init__).parameters)  # callback_url, external_task_id
    assert set(endpoint_named(operator.endpoint).fields) <= arguments | shared
    assert not arguments & {"callback_url", "external_task_id"}  # documented once, in the core


def test_a_retry_of_a_video_extension_reads_its_task_by_the_recorded_task_id_instead_of_paying_again(sandbox):
    sandbox.render_seconds = 0
    source = _source()
    first_try = task_context()
    first = KlingVideoExtendOperator(task_id="extend", **source, poll_interval=0.05).execute(first_try)
    retry = task_context(try_number=2, store=StateStore(first_try["task_state_store"]))
    again = KlingVideoExtendOperator(task_id="extend", **source, poll_interval=0.05).execute(retry)
    assert again["task_id"] == first["task_id"] and len(sandbox.submissions) == 2  # the source and one extension


@pytest.mark.parametrize(
    ("operator", "arguments", "sent"),
    [
        (
            KlingImage2VideoOperator,
            {
                "image": URL,
                "image_tail": STILL,
                "prompt": "dawn",
                "negative_prompt": "blur",
                "model_name": "kling-v1-6",
                "cfg_scale": 0.4,
                "mode": "pro",
                "duration": 10,
                "callback_url": "https://hooks.example/kling",
                "external_task_id": "still-7",
            },
            {"duration": "10"},
        ),
        (
            KlingImage2VideoOperator,
            {"image": URL, "camera_control": {"type": "down_back"}},
            {},
        ),
        (
            KlingMultiImage2VideoOperator,
            {
                "image_list": [URL, STILL],
                "prompt": "a scene",
                "negative_prompt": "blur",
                "model_name": "kling-v1-6",
                "cfg_scale": 0.4,
                "mode": "std",
                "duration": "5",
                "aspect_ratio": "9:16",
                "callback_url": "https://hooks.example/kling",
                "external_task_id": "multi-7",
            },
            {"image_list": [{"image": URL}, {"image": STILL}]},
        ),
        (
            KlingVideoExtendOperator,
            {
                "video_id": "993f3e4d-4f7b",
                "parent_task_id": "860001",
                "prompt": "and then",
                "negative_prompt": "blur",
                "cfg_scale": 0.4,
                "callback_url": "https://hooks.example/kling",
            },
            {"task_id": "860001", "parent_task_id": None},
        ),
    ],
    ids=["image2video", "image2video-camera", "multi-image2video", "video-extend"],
)
def test_every_argument_of_an_operator_reaches_the_wire(cometapi_sandbox, operator, arguments, sent):
    task = operator(task_id="t", **arguments)
    body = task.hook.validate(task.endpoint, **task._request_fields())
    expected = {**arguments, **sent}
    assert body == {name: value for name, value in expected.items() if value is not None}
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(
    "operator",
    [
        lambda **bad: KlingImage2VideoOperator(task_id="t", image=URL, **bad),
        lambda **bad: KlingMultiImage2VideoOperator(task_id="t", image_list=[URL, URL], prompt="a", **bad),
        lambda **bad: KlingVideoExtendOperator(task_id="t", video_id="v1", **bad),
    ],
    ids=["image2video", "multi-image2video", "video-extend"],
)
def test_a_bad_cfg_scale_fails_each_operator_when_the_dag_is_parsed(operator):
    with pytest.raises(KlingValidationError) as raised:
        operator(cfg_scale=1.5)
    assert raised.value.field == "cfg_scale" and "got 1.5; allowed: a number from 0 to 1" in str(raised.value)


def test_an_image_operator_without_a_frame_fails_when_the_dag_is_parsed_naming_image():
    with pytest.raises(KlingValidationError) as raised:
        KlingImage2VideoOperator(task_id="animate", prompt="nothing to animate")
    assert raised.value.field == "image"
    assert str(raised.value) == "Invalid image: is required (or image_tail, or both): the frame to animate"


def test_the_sensor_reads_a_task_on_its_endpoints_route_and_says_to_set_it_when_not_found(kling_sandbox, caplog, capfd):
    from airflow_provider_kling.sensors.kling import KlingTaskSensor

    task_id = KlingHook().create_task("image2video", image=URL)["task_id"]
    found = KlingTaskSensor(task_id="wait", kling_task_id=task_id, endpoint="image2video").poke(task_context())
    assert found.xcom_value["task_id"] == task_id
    with pytest.raises(KlingTaskNotFoundError):
        KlingTaskSensor(task_id="wait", kling_task_id=task_id).poke(task_context())
    logged = caplog.text + capfd.readouterr().out
    assert (
        f"Kling has no task {task_id} on its text2video route; a task submitted to another endpoint is read on that "
        "endpoint's: set the sensor's endpoint (image2video, multi-image2video, video-extend)" in logged
    )


def test_an_http_url_is_an_image_to_fetch_not_a_file_to_read_nor_a_text_to_hide():
    assert build_request(IMAGE2VIDEO, {"image": "http://images.example/a.png"}) == {
        "image": "http://images.example/a.png"
    }
    assert not is_file_reference("http://images.example/a.png") and is_file_reference("s3://stills/a.PNG")
    long_url = f"http://images.example/{'x' * 5000}.png"
    assert loggable_body({"image": long_url}) == {"image": long_url}


def test_an_image_url_may_take_2048_characters():
    url = f"https://images.example/{'x' * (2048 - 27)}.png"
    assert len(url) == 2048 and build_request(IMAGE2VIDEO, {"image": url})["image"] == url
    error = _refused(IMAGE2VIDEO, {"image": url + "x"})
    assert error.field == "image" and "is 2049 characters long; allowed: at most 2048 characters" in str(error)


def test_base64_with_a_character_outside_its_alphabet_is_refused_showing_the_value():
    error = _refused(IMAGE2VIDEO, {"image": f"{STILL[:40]}*{STILL[40:]}"})
    assert error.field == "image" and f"got '{STILL[:40]}*{STILL[40:48]}... (2121 chars)" in str(error)
    error = _refused(MULTI_IMAGE2VIDEO, {"image_list": ["a b"], "prompt": "a"})
    assert "got ['a b']; allowed: a list of 2 to 4 images" in str(error)


def test_four_images_are_taken():
    assert len(build_request(MULTI_IMAGE2VIDEO, {"image_list": [URL] * 4, "prompt": "a"})["image_list"]) == 4


def test_a_parent_task_id_that_is_no_task_id_is_refused_naming_it():
    error = _refused(VIDEO_EXTEND, {"video_id": "v1", "parent_task_id": "../x"})
    assert error.field == "parent_task_id"
    assert "got '../x'; allowed: the Kling task_id that made the video" in str(error)


def test_an_unreadable_image_names_the_reason(cometapi_sandbox, tmp_path):
    with pytest.raises(KlingValidationError) as raised:
        KlingHook().create_task("image2video", image=str(tmp_path / "gone.png"))
    assert str(raised.value).startswith(f"Invalid image: could not read '{tmp_path / 'gone.png'}' (FileNotFoundError: ")
