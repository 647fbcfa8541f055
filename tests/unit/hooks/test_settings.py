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


def _read(*, extra: object = None, password: str | None = "sk-kling-config-check", login: str | None = None):
    connection = SimpleNamespace(extra=extra, password=password, login=login, host=None, port=None)
    return read_settings("kling_default", connection, timeout=None, retry_limit=None, retry_delay=None)


@pytest.mark.parametrize(
    ("connection", "error"),
    [
        (
            {"extra": {"backend": "openai"}},
            "Invalid connection 'kling_default' extra 'backend': got 'openai'; allowed: cometapi, kling",
        ),
        (
            {"password": None},
            "Connection 'kling_default' has no API key set: put the CometAPI key in its password (or its api_key "
            "extra)",
        ),
        (
            {"password": None, "login": "ak", "extra": {"backend": "kling"}},
            "Connection 'kling_default' has no API key set: put the Kling secret key in its password (or its "
            "api_key extra)",
        ),
        (
            {"password": "sk abc"},
            "Invalid connection 'kling_default' password: holds characters an HTTP header cannot carry (a space or "
            "a line break inside the key?); allowed: the key alone",
        ),
        (
            {"extra": {"allow_private_video_hosts": "TRUE"}},
            "Invalid connection 'kling_default' extra 'allow_private_video_hosts': got 'TRUE'; allowed: true or false",
        ),
    ],
)
def test_a_refused_connection_says_which_part_what_it_got_and_what_would_do(connection, error):
    with pytest.raises(Exception) as raised:
        _read(**connection)
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("given", "read"), [(True, True), ("true", True), (False, False), ("false", False), ("", None)]
)
def test_a_flag_extra_is_read_from_a_bool_or_its_json_text_and_empty_is_unset(given, read):
    assert _read(extra={"allow_private_video_hosts": given}).allow_private_video_hosts is read


def test_extras_given_as_a_mapping_are_read_as_they_are_and_an_empty_number_is_its_default():
    from airflow_provider_kling._constants import DEFAULT_TIMEOUT

    settings = _read(extra={"backend": "cometapi", "timeout": "", "retry_limit": 2})
    assert settings.timeout == DEFAULT_TIMEOUT and settings.retry_limit == 2
