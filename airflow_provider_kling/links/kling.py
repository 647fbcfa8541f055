"""The "Kling video" extra link on the operator's and the sensor's task instances."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.sdk import BaseOperatorLink

from airflow_provider_kling._compat import stored_video_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey


class KlingVideoLink(BaseOperatorLink):
    """
    Open the first result video of the task instance's Kling task.

    The operator and the sensor note the URL (``kling_video_url``) when the task ends on a worker,
    including on resuming from the triggerer; Airflow 3 then stores the link for the UI, and Airflow 2
    reads it from the XCom they leave. It is empty until the task has succeeded.
    """

    name = "Kling video"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the first video URL the task instance produced, or an empty string."""
        return getattr(operator, "kling_video_url", None) or stored_video_url(ti_key) or ""
