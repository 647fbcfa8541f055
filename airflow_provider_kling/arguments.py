"""Checks of the operators' and the sensor's own arguments (not request fields: those are the contract's)."""

from __future__ import annotations

from typing import Any

from airflow_provider_kling._constants import MAX_SECONDS
from airflow_provider_kling.contract.fields import check_choice, check_flag, shown
from airflow_provider_kling.exceptions import KlingValidationError

__all__ = ["check_choice", "check_conn_id", "check_flag", "check_id", "check_seconds"]


def check_seconds(name: str, value: Any) -> float:
    """Check an operator argument that is a duration in seconds (above 0, at most 30 days); return it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
        raise KlingValidationError(
            name, f"got {shown(value)}; allowed: a number of seconds above 0, at most {MAX_SECONDS} (30 days)"
        )
    return value


def check_id(name: str, value: Any, allowed: str) -> str:
    """Check an operator argument that names something (a non-blank string); return it."""
    if not isinstance(value, str) or not value.strip():
        raise KlingValidationError(name, f"got {shown(value)}; allowed: {allowed}")
    return value


def check_conn_id(value: Any) -> str:
    """Check a ``kling_conn_id`` argument; return it."""
    return check_id("kling_conn_id", value, "the id of a connection of type kling")
