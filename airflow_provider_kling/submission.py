"""Never paid twice: what a task instance records of its submission across tries, and the decisions built on it.

A generation carries an ``external_task_id`` derived from the task instance; the operator records the generation
before sending it and the Kling ``task_id`` after (:class:`SubmissionStore`), and a later try reads that record:
a task that lives is taken up, a failed one is followed by the next generation, and a submission whose answer was
lost is looked up where the backend can be asked, or handled by ``on_unknown_submission`` where it cannot
(:func:`unknown_submission`, :class:`SubmissionPlan`). A submission refused for the account's concurrency is
recorded as having created nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from airflow_provider_kling._constants import GIVEN_EXTERNAL_TASK_ID_MAX_CHARS
from airflow_provider_kling.contract import Backend, Endpoint
from airflow_provider_kling.exceptions import (
    KlingError,
    KlingInvalidRequestError,
    KlingSubmissionUnknownError,
    KlingTransientError,
    KlingValidationError,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: The key under which the operator records its submission across tries.
SUBMISSION_STATE_KEY = "kling_submission"


def derived_external_task_id(dag_id: str, task_id: str, run_id: str, map_index: int | None) -> str:
    """The ``external_task_id`` of a task instance's first generation: the same on every try."""
    digest = hashlib.sha256(f"{dag_id}\0{task_id}\0{run_id}\0{map_index}".encode()).hexdigest()
    return f"airflow-{digest[:32]}"


def generation_external_task_id(base: str, generation: int) -> str:
    """The ``external_task_id`` of a task instance's n-th generation (a new one after each failure)."""
    return base if generation == 1 else f"{base}-{generation}"


def check_given_external_task_id(external_task_id: str | None) -> None:
    """
    Refuse an ``external_task_id`` given to an operator that leaves no room for a later generation's ``-2``, ``-3``.

    :param external_task_id: the id given, if any.
    """
    if external_task_id is not None and len(external_task_id) > GIVEN_EXTERNAL_TASK_ID_MAX_CHARS:
        raise KlingValidationError(
            "external_task_id",
            f"is {len(external_task_id)} characters long; allowed: at most {GIVEN_EXTERNAL_TASK_ID_MAX_CHARS} "
            "characters (Kling takes 128, and a later generation adds '-2', '-3'...)",
        )


def unknown_submission(record: dict[str, Any], backend: Backend, endpoint: Endpoint, policy: str) -> str | None:
    """
    Decide about an earlier try that submitted but never learnt its ``task_id``: return the ``external_task_id``
    to look the task up by, or None to submit again (the warning to log is :func:`resubmission_warning`'s);
    raise :class:`~airflow_provider_kling.exceptions.KlingSubmissionUnknownError` where ``policy`` is ``fail``.

    :param record: the earlier try's record.
    :param backend: the service (whether it looks tasks up by ``external_task_id``).
    :param endpoint: the endpoint the task was submitted to.
    :param policy: the operator's ``on_unknown_submission``.
    """
    external_id = record.get("external_task_id")
    if external_id and backend.lookup_by_external_task_id:
        return str(external_id)
    if policy == "fail":
        submitted, why = _unknown_because(external_id, backend, endpoint)
        raise KlingSubmissionUnknownError(
            f"An earlier try submitted {submitted} but never learnt its task_id, and {why}. Not submitting "
            "again (on_unknown_submission='fail'): look for the task in the service's console and wait on its "
            "task_id with KlingTaskSensor, or set on_unknown_submission='resubmit'",
            external_task_id=external_id,
        )
    return None


def resubmission_warning(record: dict[str, Any], backend: Backend, endpoint: Endpoint) -> str:
    """
    Return what a try logs when it submits again after an earlier try's unknown submission.

    :param record: the earlier try's record.
    :param backend: the service.
    :param endpoint: the endpoint the task was submitted to.
    """
    submitted, why = _unknown_because(record.get("external_task_id"), backend, endpoint)
    return (
        f"An earlier try submitted {submitted} but never learnt its task_id, and {why}: submitting again "
        "(on_unknown_submission='resubmit'); a second generation may be paid for"
    )


def _unknown_because(external_id: Any, backend: Backend, endpoint: Endpoint) -> tuple[str, str]:
    if external_id:
        return (
            f"external_task_id {external_id!r}",
            f"the {backend.name} backend cannot look tasks up by external_task_id",
        )
    return f"a {endpoint.name} task", "that endpoint takes no external_task_id to look it up by"


class SubmissionStore:
    """
    A task instance's record of its submission, kept across its tries.

    :param context: the running task's context.
    :param scope: a name unique to the task instance (dag, task, run and map index), for the
        Airflow Variable that holds the record where Airflow has no task state store.
    """

    def __init__(self, context: Context, scope: str) -> None:
        self._store = context.get("task_state_store")
        self._scope = scope
        ti = context["ti"]
        #: Shown beside the Variable in the UI (Airflow < 3.3).
        self._description = (
            f"Kling submission of task {ti.task_id} (map index {ti.map_index}) of DAG {ti.dag_id}, run {ti.run_id}: "
            "kept across the task's tries, removed when it has its result"
        )

    def _variable_name(self, key: str) -> str:
        return f"{key}.{self._scope}"

    def get(self, key: str) -> dict[str, Any]:
        """
        The record under ``key``, or an empty dict when there is none. Anything else there is not a record of
        ours: whether an earlier try paid for a generation cannot be told, so it fails the task.
        """
        if self._store is not None:
            record = self._store.get(key)
        else:
            from airflow.providers.common.compat.sdk import Variable

            record = json.loads(Variable.get(self._variable_name(key), "{}"))
        if record is None:
            return {}
        if not isinstance(record, dict):
            raise KlingSubmissionUnknownError(
                f"The task's {key!r} record holds {type(record).__name__}, not the operator's record: whether an "
                "earlier try created a Kling task cannot be told, so nothing was submitted. Remove the record "
                "(the task state store, or the Airflow Variable before 3.3) to submit anew"
            )
        return record

    def set(self, key: str, record: dict[str, Any]) -> None:
        """Write the record under ``key``."""
        if self._store is not None:
            self._store.set(key, record)
            return
        from airflow.providers.common.compat.sdk import Variable

        Variable.set(self._variable_name(key), json.dumps(record), description=self._description)

    def finish(self, key: str) -> None:
        """
        The task has its result: drop a record kept in a Variable, so that none piles up.

        The task state store keeps it instead: it goes with its DAG run or its retention.
        """
        if self._store is not None:
            return
        from airflow.providers.common.compat.sdk import Variable

        Variable.delete(self._variable_name(key))


class SubmissionPlan:
    """
    Decide what a submission does when its answer is lost, by the backend and the policy (the hook's submission asks).

    :param backend: the service (whether it looks tasks up by external id).
    :param external_task_id: the id the submission carries, if any.
    :param policy: ``resubmit`` or ``fail``, for a backend that cannot be asked.
    """

    def __init__(self, backend: Backend, external_task_id: str | None, policy: str) -> None:
        self.backend = backend
        self.external_task_id = external_task_id
        self.policy = policy
        self.unsure = False  # whether an earlier attempt may have created the task

    def id_to_look_up(self, error: KlingError) -> str | None:
        """
        Decide after a failed attempt: the ``external_task_id`` to look the task up by first, or None to
        let ``error`` take its course (a retry or a failure). Raises where neither is safe.
        """
        lookup = self.external_task_id if self.backend.lookup_by_external_task_id else None
        if isinstance(error, KlingTransientError) and error.ambiguous:
            self.unsure = True
            if lookup:
                return lookup
            if self.policy == "fail":
                raise self._unknown(f"its answer was lost ({error})")
            return None
        if isinstance(error, KlingInvalidRequestError):
            # Kling's own API refuses an external_task_id it has seen: the task that holds it is this one's.
            if lookup:
                return lookup
            if self.unsure:  # a refusal after a lost answer: the earlier attempt may have landed
                raise self._unknown(f"it was sent again after a lost answer and refused ({error})")
        return None

    def _unknown(self, what: str) -> KlingSubmissionUnknownError:
        return KlingSubmissionUnknownError(
            f"A submission to Kling through {self.backend.name} may have created a task: {what}. "
            f"This backend cannot look tasks up by external_task_id ({self.external_task_id or 'none set'}), "
            "so it was not sent again. Look for the task in the service's console and wait on its task_id "
            "with KlingTaskSensor, or submit anew (on_unknown_submission='resubmit' sends again)",
            external_task_id=self.external_task_id,
        )
