"""Extras that only older Airflow lets through (Airflow 3 refuses such a connection before any hook reads it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.hooks._settings import read_settings


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ('{"backend": ', "connection 'kling_default' extra: is not JSON"),
        ("[1, 2]", "connection 'kling_default' extra: got list; allowed: a JSON object"),
    ],
)
def test_extras_that_are_not_a_json_object_are_refused_naming_the_field(extra, text):
    connection = SimpleNamespace(extra=extra, password="sk-kling-config-check", login=None, host=None, port=None)
    with pytest.raises(KlingValidationError, match=text):
        read_settings("kling_default", connection, timeout=None, retry_limit=None, retry_delay=None)


def test_extras_given_as_json_text_are_read():
    connection = SimpleNamespace(
        extra='{"backend": "cometapi", "timeout": "7"}',
        password="sk-kling-config-check",
        login=None,
        host=None,
        port=None,
    )
    settings = read_settings("kling_default", connection, timeout=None, retry_limit=None, retry_delay=None)
    assert settings.backend.name == "cometapi" and settings.timeout == 7
