"""
Fast: editing sessions' answers read (refusals, a missing id) and checked against the task they open, and the
session endpoints' refusals word for word.
"""

from __future__ import annotations

import pytest

from airflow_provider_kling.contract import (
    COMETAPI,
    KLING,
    build_request,
    check_selections,
    check_session_video,
    endpoint_named,
    read_session,
)
from airflow_provider_kling.contract.lip_sync import fill_face
from airflow_provider_kling.contract.multi_elements import fill_multi_elements
from airflow_provider_kling.exceptions import (
    KlingInvalidRequestError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
)


def test_a_session_answer_gives_its_id_or_says_which_input_it_did_not_recognise():
    assert read_session({"status": 0, "session_id": "s1"}, "video_url") == "s1"
    assert read_session({"session_id": "s2", "face_data": []}, "video_id") == "s2"  # identify-face has no status
    with pytest.raises(KlingValidationError) as video:
        read_session({"status": 3, "session_id": "s1"}, "video_id")
    assert str(video.value).startswith("Invalid video_id: was not recognised by the editing session (status 3)")
    with pytest.raises(KlingValidationError, match="mark points on the element itself"):
        read_session({"status": 1, "session_id": "s1"}, "selections")
    for answer in ({}, {"session_id": ""}, {"session_id": 7}, None):
        with pytest.raises(KlingUnexpectedAnswerError, match="has no session_id"):
            read_session(answer, "video_url")


def test_the_video_of_a_session_is_one_of_id_or_url_and_an_id_only_where_the_backend_takes_it():
    assert check_session_video(KLING, "1-0", None) == {"video_id": "1-0"}
    assert check_session_video(COMETAPI, None, "https://v.example/a.mp4") == {"video_url": "https://v.example/a.mp4"}
    with pytest.raises(KlingValidationError, match="give video_url instead"):
        check_session_video(COMETAPI, "1-0", None)
    for video_id, video_url in (("1-0", "https://v.example/a.mp4"), (None, None)):
        with pytest.raises(KlingValidationError, match="one of them"):
            check_session_video(KLING, video_id, video_url)


def test_an_edit_takes_its_session_and_its_videos_length_is_checked_only_where_the_session_gives_it():
    body = {"edit_mode": "removal", "prompt": "delete the cup", "duration": "10"}
    assert fill_multi_elements(body, {"session_id": "s1"}) == {**body, "session_id": "s1"}
    assert fill_multi_elements(body, {"session_id": "s1", "original_duration": 7000})["session_id"] == "s1"
    with pytest.raises(KlingValidationError, match=r"needs a video of 7 to 10 s; this one lasts 6\.5 s: give a video"):
        fill_multi_elements(body, {"session_id": "s1", "original_duration": 6500})
    with pytest.raises(KlingValidationError, match="this one lasts 4 s: set duration=5"):
        fill_multi_elements(body, {"session_id": "s1", "original_duration": 4000})


def test_faces_in_a_shape_kling_does_not_document_are_an_unexpected_answer_not_a_retryable_crash():
    body = {"sound_file": "https://a.example/s.mp3", "sound_start_time": 0, "sound_end_time": 3000}
    assert (
        fill_face(body, {"session_id": "s", "face_data": [{"face_id": 0, "start_time": 0, "end_time": 4000}]})[
            "face_id"
        ]
        == "0"
    )
    for face in ({"face_id": "a", "start_time": None, "end_time": 4000}, {"face_id": "a"}, "a"):
        with pytest.raises(KlingUnexpectedAnswerError, match="of a shape Kling does not document"):
            fill_face(body, {"session_id": "s", "face_data": [face]})
    with pytest.raises(KlingValidationError, match=r"puts the sound 1\.9 s over face a"):  # 2 s, less the late end
        fill_face(body, {"session_id": "s", "face_data": [{"face_id": "a", "start_time": 0, "end_time": 2000}]})


V = "https://v.example/a.mp4"
M = [{"frame_index": 0, "points": [{"x": 0.5, "y": 0.5}]}]
E = {"edit_mode": "removal", "prompt": "delete the cup", "video_url": V, "selections": M}
S = {"video_url": V, "sound_file": "https://a.example/s.mp3", "sound_end_time": 3000}

#: The sessions' endpoints' refusals, word for word: each names the field, what was given and what is allowed.
REFUSALS = [
    (
        "multi-elements",
        KLING,
        {**E, "session_id": "s1"},
        "Invalid video_url: is not used with session_id: the session holds its video and marks",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "video_url": None, "session_id": "a b", "selections": None},
        "Invalid session_id: got 'a b'; allowed: the id init-selection gave: letters, digits, '-' and '_'",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "video_url": None},
        "Invalid video_url: or video_id (one of them), or the session_id of an open editing session, is "
        "required: the video to edit",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "selections": "x"},
        "Invalid selections: got 'x'; allowed: 1 to 10 frames, each {'frame_index': n, 'points': [{'x': 0..1,"
        " 'y': 0..1}, ...]}",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "selections": ["x"]},
        "Invalid selections[0]: got 'x'; allowed: {'frame_index': n, 'points': [...]}",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "selections": [{"frame_index": True, "points": [{"x": 0, "y": 0}]}]},
        "Invalid selections[0].frame_index: got True; allowed: a frame number from 0, each frame once",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "selections": [{"frame_index": 0, "points": "p"}]},
        "Invalid selections[0].points: got 'p'; allowed: 1 to 10 points on the element",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "selections": [{"frame_index": 0, "points": [[0, 0]]}]},
        "Invalid selections[0].points[0]: got [0, 0]; allowed: {'x': 0..1, 'y': 0..1} from the top left",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "image_list": ["https://i.example/a.png"]},
        "Invalid image_list: got ['https://i.example/a.png']; allowed with edit_mode='removal': none of the "
        "element, cropped to it",
    ),
    (
        "multi-elements",
        KLING,
        {**E, "prompt": None},
        "Invalid prompt: is required: the edit, naming <<<video_1>>> and (to add or swap) <<<image_1>>>",
    ),
    ("multi-elements", KLING, {**E, "prompt": " "}, "Invalid prompt: must not be empty; allowed: 1 to 2500 characters"),
    (
        "multi-elements",
        KLING,
        {**E, "negative_prompt": "n" * 2501},
        "Invalid negative_prompt: is 2501 characters long; allowed: at most 2500 characters",
    ),
    (
        "multi-elements",
        COMETAPI,
        {**E, "video_url": None, "video_id": "1-0"},
        "Invalid video_id: is not taken on the cometapi backend, whose pages disagree on whether the parent "
        "task goes with it; give video_url instead: the video's url in task_result.videos",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "session_id": "s1"},
        "Invalid video_url: is not used with session_id: the session holds its video",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "video_url": None, "session_id": "s1", "sound_insert_time": 0},
        "Invalid face_id: is required with session_id (identify-face gave the faces)",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "video_url": None, "session_id": "a b", "face_id": "f", "sound_insert_time": 0},
        "Invalid session_id: got 'a b'; allowed: the id identify-face gave: letters, digits, '-' and '_'",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "video_url": None},
        "Invalid video_url: or video_id (one of them), or the session_id of identify-face, is required: the "
        "video with the face",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "sound_file": None},
        "Invalid sound_file: or audio_id (one of them) is required: an mp3, wav or m4a URL or its Base64 (at "
        "most 5 MB), or the id of a Kling text-to-speech audio",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "sound_file": None, "audio_id": "a b"},
        "Invalid audio_id: got 'a b'; allowed: the id of a Kling text-to-speech audio: letters, digits, '-' and '_'",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "sound_file": "http://a b"},
        "Invalid sound_file: got 'http://a b'; allowed: an http(s) URL Kling can fetch, no spaces",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "sound_end_time": None},
        "Invalid sound_end_time: is required: where the sound to use ends, in ms from its start",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "sound_end_time": "3 s"},
        "Invalid sound_end_time: got '3 s'; allowed: whole milliseconds from 0",
    ),
    ("advanced-lip-sync", KLING, {**S, "sound_volume": 3}, "Invalid sound_volume: got 3; allowed: 0 to 2"),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "face_id": "a b"},
        "Invalid face_id: got 'a b'; allowed: a face_id that identify-face gave: letters, digits, '-' and '_'",
    ),
    (
        "advanced-lip-sync",
        KLING,
        {**S, "video_url": None, "video_id": "a b"},
        "Invalid video_id: got 'a b'; allowed: the id of a video Kling made: letters, digits, '-' and '_'",
    ),
    (
        "advanced-lip-sync",
        COMETAPI,
        S,
        "Invalid endpoint: advanced-lip-sync is not available on the cometapi backend: no source documents "
        "how to read its tasks there; use a connection whose backend is kling, or lip-sync "
        "(KlingLipSyncOperator)",
    ),
]


@pytest.mark.parametrize(("endpoint", "backend", "fields", "message"), REFUSALS)
def test_each_refusal_of_the_session_endpoints_reads_word_for_word(endpoint, backend, fields, message):
    with pytest.raises(KlingValidationError) as raised:
        build_request(endpoint_named(endpoint), fields, backend=backend)
    assert str(raised.value) == message


def test_the_marks_take_their_bounds_and_refuse_one_past_them():
    point = {"x": 0, "y": 1}
    frames = [{"frame_index": n, "points": [point] * 10} for n in range(10)]
    assert check_selections(frames) == frames
    for wrong in (
        [*frames, {"frame_index": 10, "points": [point]}],
        [{"frame_index": 0, "points": [point] * 11}],
        [{"frame_index": 0, "points": [{"x": -0.01, "y": 0}]}],
        [{"frame_index": 0, "points": [{"x": 0, "y": 1.01}]}],
        [{"frame_index": 0, "points": [{"x": True, "y": 0}]}],
        [{"frame_index": 0, "points": [{"x": 0, "y": 0, "z": 0}]}],
        [{"frame_index": 0, "points": [point], "label": "cup"}],
    ):
        with pytest.raises(KlingValidationError):
            check_selections(wrong)


def test_a_videos_length_at_a_bound_fits_and_names_the_duration_that_fits():
    body = {"edit_mode": "removal", "prompt": "delete the cup"}
    for seconds, duration in ((2.0, "5"), (5.0, "5"), (7.0, "10"), (10.0, "10")):
        opened = {"session_id": "s", "original_duration": seconds * 1000}
        assert fill_multi_elements({**body, "duration": duration}, opened)["session_id"] == "s"
    with pytest.raises(KlingValidationError) as raised:
        fill_multi_elements(body, {"session_id": "s", "original_duration": 7000})
    assert str(raised.value) == (
        "Invalid duration: is 5 s, which needs a video of 2 to 5 s; this one lasts 7 s: set duration=10"
    )


def test_the_sessions_messages_read_word_for_word():
    with pytest.raises(KlingUnexpectedAnswerError) as missing:
        read_session({"status": 0}, "video_url")
    assert str(missing.value) == "The editing session's answer has no session_id: {'status': 0}"
    with pytest.raises(KlingValidationError) as video:
        read_session({"status": 2, "session_id": "s"}, "video_url")
    assert str(video.value) == (
        "Invalid video_url: was not recognised by the editing session (status 2); give an mp4 or mov of the length, "
        "size and frame rate the endpoint takes (see its video_url)"
    )
    with pytest.raises(KlingValidationError) as marks:
        read_session({"status": 2, "session_id": "s"}, "selections")
    assert str(marks.value) == (
        "Invalid selections: was not recognised by the editing session (status 2); mark points on the element "
        "itself, on frames the video has"
    )
    with pytest.raises(KlingValidationError) as neither:
        check_session_video(KLING, None, None)
    assert str(neither.value) == "Invalid video_url: or video_id (one of them) is required: the video"
    with pytest.raises(KlingValidationError) as bad_id:
        check_session_video(KLING, "a b", None)
    assert str(bad_id.value) == (
        "Invalid video_id: got 'a b'; allowed: the id of a video Kling made: letters, digits, '-' and '_'"
    )


def test_a_face_is_read_from_kling_shape_and_the_sound_placed_against_its_span():
    body = {"sound_file": "https://a.example/s.mp3", "sound_start_time": 0, "sound_end_time": 3000}
    # No start_time: the face is there from the start. An overlap of exactly 2 s (the late end less 100 ms) fits.
    filled = fill_face(body, {"session_id": "s", "face_data": [{"face_id": "a", "end_time": 2100}]})
    assert (filled["face_id"], filled["sound_insert_time"]) == ("a", 0)
    for face in (
        {"face_id": "", "start_time": 0, "end_time": 4000},
        {"face_id": "a", "start_time": True, "end_time": 4000},
        {"face_id": "a", "start_time": 0, "end_time": "4000"},
    ):
        with pytest.raises(KlingUnexpectedAnswerError) as shape:
            fill_face(body, {"session_id": "s", "face_data": [face]})
        assert str(shape.value) == f"identify-face answered faces of a shape Kling does not document: {[face]}"
    with pytest.raises(KlingInvalidRequestError) as none:
        fill_face(body, {"session_id": "s", "face_data": []})
    assert str(none.value) == "The video shows no face identify-face could use for lip-sync: give another one"
    faces = [{"face_id": "a", "start_time": 0, "end_time": 9000}, {"face_id": "b", "start_time": 0, "end_time": 900}]
    with pytest.raises(KlingValidationError) as unknown:
        fill_face({**body, "face_id": "c"}, {"session_id": "s", "face_data": faces})
    assert str(unknown.value) == "Invalid face_id: got 'c'; allowed: a face of this video: a, b"
    # The clip is what it keeps of the sound: 1.5 s of it cannot cover 2 s of the face.
    with pytest.raises(KlingValidationError) as short:
        fill_face({**body, "sound_start_time": 1000, "sound_end_time": 2500}, {"session_id": "s", "face_data": faces})
    assert str(short.value) == (
        "Invalid sound_insert_time: puts the sound 1.5 s over face a (seen from 0 to 9000 ms); allowed: an overlap "
        "of at least 2 s"
    )
    with pytest.raises(KlingValidationError) as missed:
        fill_face({**body, "sound_insert_time": 9500}, {"session_id": "s", "face_data": faces})
    assert "puts the sound 0 s over face a" in str(missed.value)
