"""Exceptions raised by the Kling provider.

Every error says whether an Airflow retry can help: :class:`KlingPermanentError` and its subclasses
derive from ``AirflowFailException``, so the task fails at once without using its retries;
:class:`KlingTransientError` is an ordinary ``AirflowException``, so Airflow retries the task.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class KlingError(AirflowException):
    """
    Base class of every error from the Kling provider.

    :param message: what went wrong, in words.
    :param status: the HTTP status of the answer, if there was one.
    :param code: Kling's (or CometAPI's) error code, if the answer carried one.
    :param request_id: the request id the service gave, if any.
    """

    #: Whether an Airflow retry of the task can help (False: the task fails without using retries).
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        details = [
            f"{name}={value}"
            for name, value in (("HTTP", status), ("code", code), ("request_id", request_id))
            if value not in (None, "")
        ]
        super().__init__(f"{message} ({', '.join(details)})" if details else message)


class KlingTransientError(KlingError):
    """
    A failure that a later attempt may not meet: timeout, connection error, 5xx, rate limit.

    :param retry_after: seconds the service asked us to wait (``Retry-After``), if it said.
    :param ambiguous: the request may have been processed although no valid answer came back.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        ambiguous: bool = False,
        **details: object,
    ) -> None:
        super().__init__(message, **details)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class KlingPermanentError(KlingError, AirflowFailException):
    """A failure that no retry can fix: authentication, balance, permission, bad parameters, policy."""

    retryable = False


class KlingAuthError(KlingPermanentError):
    """The API key is missing, wrong or expired (HTTP 401, codes 1000-1004)."""


class KlingAccountError(KlingPermanentError):
    """The account cannot run this: arrears, depleted resource pack, no permission (1100-1103, 1304)."""


class KlingInvalidRequestError(KlingPermanentError, ValueError):
    """The request is not valid: raised locally before anything is sent, or by Kling (1200, 1201)."""


class KlingValidationError(KlingInvalidRequestError):
    """
    A request field has a value the contract does not allow. Raised before any request is sent.

    :param field: the name of the offending field (operator argument).
    :param problem: what is wrong and which values are allowed.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Invalid {field}: {problem}")


class KlingContentPolicyError(KlingPermanentError):
    """Kling refused the prompt under its platform or content safety policy (1300, 1301)."""


class KlingTaskNotFoundError(KlingPermanentError):
    """No Kling task has this id (Kling's 1203, CometAPI's ``task_not_exist``)."""


class KlingConfigurationError(KlingPermanentError):
    """The connection points somewhere that is not the Kling API (an HTML page where JSON was due), or
    asks for something its backend cannot do."""


class KlingUnexpectedAnswerError(KlingError):
    """
    The service answered in a shape the contract does not allow (no task id, a success without a video).

    Retryable: a later try reads the task again by its recorded id, and submits nothing new.
    """


class KlingSubmissionUnknownError(KlingPermanentError):
    """
    A submission may have created a task, but its answer was lost and the backend cannot be asked.

    Raised under the ``fail`` policy for unknown submissions (see the operator's ``on_unknown_submission``):
    no retry is spent, since submitting again could pay for a second generation.

    :param external_task_id: the id the lost submission carried, to look for in the service's console.
    """

    def __init__(self, message: str, *, external_task_id: str | None = None) -> None:
        self.external_task_id = external_task_id
        super().__init__(message)


class KlingTaskFailedError(KlingError):
    """
    The Kling task ended with ``task_status`` ``failed``. Retryable: a new try submits a new generation.

    :param task: the final task object.
    """

    def __init__(self, task: dict[str, Any]) -> None:
        self.task = task
        reason = task.get("task_status_msg") or "no reason given"
        super().__init__(f"Kling task {task.get('task_id')} failed: {reason}")


class KlingWaitTimeoutError(KlingError):
    """The task did not end within the wait's ``timeout``; the generation may still finish in Kling."""


class KlingNoFreeSlotError(KlingWaitTimeoutError):
    """
    No slot on the account came free within the wait: every submission was refused for the account's concurrency,
    so none created a task. Retryable: a later try submits the same generation again.
    """
