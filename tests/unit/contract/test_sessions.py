"""Fast: an editing session's answers read (refusals, a missing id) and checked against the task they open."""

from __future__ import annotations

import pytest

from airflow_provider_kling.contract import COMETAPI, KLING, check_session_video, read_session
from airflow_provider_kling.contract.lip_sync import fill_face
from airflow_provider_kling.contract.multi_elements import fill_multi_elements
from airflow_provider_kling.exceptions import KlingUnexpectedAnswerError, KlingValidationError


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
