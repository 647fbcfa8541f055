"""Fast: the submission record where Airflow has no task state store (before 3.3: an Airflow Variable), and what a
try says when it must submit again."""

from __future__ import annotations

import pytest
from support.task_context import task_context

from airflow_provider_kling.contract import COMETAPI, KLING, TEXT2VIDEO, VIDEO_EXTEND
from airflow_provider_kling.exceptions import KlingSubmissionUnknownError
from airflow_provider_kling.submission import SUBMISSION_STATE_KEY, SubmissionStore, resubmission_warning


@pytest.fixture
def store(airflow_db, monkeypatch):
    from airflow.models import Variable
    from airflow.providers.common.compat import sdk

    # The Task SDK's Variable reaches the metadata DB only from a running task; out of one, the same store through
    # Airflow's own model (which the SDK's is on Airflow 2).
    monkeypatch.setattr(sdk, "Variable", Variable)
    context = task_context()
    del context["task_state_store"]  # as before Airflow 3.3
    store = SubmissionStore(context, "kling_test.generate.manual.-1")
    yield store
    store.finish(SUBMISSION_STATE_KEY)


def test_without_a_task_state_store_the_record_is_kept_in_a_variable_and_dropped_when_finished(store):
    from airflow.models import Variable

    name = f"{SUBMISSION_STATE_KEY}.kling_test.generate.manual.-1"
    assert store.get(SUBMISSION_STATE_KEY) == {}
    store.set(SUBMISSION_STATE_KEY, {"generation": 1, "task_id": "860001"})
    assert store.get(SUBMISSION_STATE_KEY) == {"generation": 1, "task_id": "860001"}
    assert Variable.get(name, deserialize_json=True) == {"generation": 1, "task_id": "860001"}
    store.finish(SUBMISSION_STATE_KEY)
    assert Variable.get(name, default_var=None) is None and store.get(SUBMISSION_STATE_KEY) == {}


def test_a_variable_that_holds_no_record_of_ours_fails_the_task_instead_of_paying_again(store):
    from airflow.models import Variable

    Variable.set(f"{SUBMISSION_STATE_KEY}.kling_test.generate.manual.-1", "[1, 2]")
    with pytest.raises(KlingSubmissionUnknownError, match=r"^The task's 'kling_submission' record holds list"):
        store.get(SUBMISSION_STATE_KEY)


@pytest.mark.parametrize(
    ("record", "backend", "endpoint", "said"),
    [
        (
            {"generation": 1, "external_task_id": "airflow-abc"},
            COMETAPI,
            TEXT2VIDEO,
            "external_task_id 'airflow-abc' but never learnt its task_id, and the cometapi backend cannot look tasks "
            "up by external_task_id",
        ),
        (
            {"generation": 1},
            KLING,
            VIDEO_EXTEND,
            "a video-extend task but never learnt its task_id, and that endpoint takes no external_task_id to look "
            "it up by",
        ),
    ],
)
def test_a_resubmission_says_what_was_lost_and_why_it_cannot_be_looked_up(record, backend, endpoint, said):
    assert resubmission_warning(record, backend, endpoint) == (
        f"An earlier try submitted {said}: submitting again (on_unknown_submission='resubmit'); a second "
        "generation may be paid for"
    )
