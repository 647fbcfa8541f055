"""
Version shims: what differs between Airflow 2.11 and 3.x that ``apache-airflow-providers-common-compat`` does not
bridge, and nothing else (this module imports nothing of the provider's).

Everything else (base classes, ``ObjectStoragePath``, ``Asset``, ``conf``, exceptions, masking) comes
from :mod:`airflow.providers.common.compat.sdk`, as in the official providers. This module adds:

- :func:`remember_video_url` and :func:`stored_video_url`: the extra link's URL. Airflow 3 asks the
  link on the worker when the task ends; Airflow 2 asks it in the webserver, from an XCom.
- :func:`amask_secret`: masking from a trigger without blocking the triggerer's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, TaskInstanceKey


#: The XCom key under which, on Airflow 2, the operator and the sensor leave the link's URL.
VIDEO_URL_XCOM_KEY = "kling_video_url"


def remember_video_url(context: Context, url: str) -> None:
    """Leave the link's URL where Airflow 2's webserver reads it (Airflow 3 asks the operator itself)."""
    if not AIRFLOW_V_3_0_PLUS:
        context["ti"].xcom_push(key=VIDEO_URL_XCOM_KEY, value=url)


def stored_video_url(ti_key: TaskInstanceKey) -> str | None:
    """The URL :func:`remember_video_url` left for a task instance on Airflow 2, if any."""
    if AIRFLOW_V_3_0_PLUS:
        return None
    from airflow.models.xcom import XCom

    url = XCom.get_value(ti_key=ti_key, key=VIDEO_URL_XCOM_KEY)
    return url if isinstance(url, str) else None


async def amask_secret(secret: str) -> None:
    """Mask ``secret`` in logs from a coroutine; before Airflow 3.3 the synchronous call runs in a thread."""
    try:
        from airflow.sdk.log import amask_secret as mask_asynchronously
    except ImportError:
        from airflow.providers.common.compat.sdk import mask_secret
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(secret)
    else:
        await mask_asynchronously(secret)
