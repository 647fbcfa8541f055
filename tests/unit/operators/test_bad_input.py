"""Every operator and sensor argument, given a value a user could plausibly write wrong: a clear error naming
the argument and the allowed values, and not one request sent. Also where the key may come from and its masking."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowNotFoundException
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS
from support.answer_tables import INVALID_FIELDS
from support.task_context import task_context

from airflow_provider_kling.exceptions import KlingPermanentError, KlingTaskNotFoundError, KlingValidationError
from airflow_provider_kling.hooks.kling import KlingAsyncHook, KlingHook
from airflow_provider_kling.operators.kling import KlingText2VideoOperator, KlingVideoOperator
from airflow_provider_kling.sensors.kling import KlingTaskSensor

# (argument, value, text the error must contain); checked when the task runs, before anything is sent:
# every bad request field of the hook's table (the operator passes them through), and what the operator adds.
#: Request fields that are not templated: the operator checks them when the DAG is parsed.
NOT_TEMPLATED_FIELDS = ("cfg_scale", "camera_control", "multi_shot", "watermark_info")

OPERATOR_RUN_TIME = [row for row in INVALID_FIELDS if row[0] not in ("resolution", *NOT_TEMPLATED_FIELDS)] + [
    ("prompt", None, "is required: 1 to 500 characters"),
    ("prompt", ["a cat", "a dog"], "must be a string"),
    ("model_name", "KLING-V1", "allowed: kling-v1, kling-v1-6"),
    ("aspect_ratio", 16 / 9, "allowed: 16:9, 9:16, 1:1"),
    ("duration", "{{ params.duration }}", "allowed: 5, 10"),
    ("output_path", 42, "allowed: an absolute path, a URL such as file:///data/videos, or an ObjectStoragePath"),
    ("output_path", "nosuch://bucket/videos", "whose scheme has a filesystem installed"),
    ("output_path", "videos", "a relative path; allowed: an absolute path"),
    ("output_path", "", "a relative path; allowed: an absolute path"),
    ("output_path", "file://videos", "a relative path; allowed: an absolute path"),
    ("output_path", "/proc/kling-videos", "where nothing can be written"),
    ("external_task_id", "x" * 121, "at most 120 characters"),
    ("shot_type", "customize", "is only used with multi_shot=True"),
    ("multi_prompt", [{"prompt": "a", "duration": 5}], "is only used with multi_shot=True"),
    ("extra_fields", {"mode": "pro"}, "holds mode; allowed: only fields without their own argument"),
    ("extra_fields", ["resolution"], "allowed: a dict of field names to JSON values"),
    ("extra_fields", {"resolution": {1, 2}}, "allowed: JSON values"),
]

# Checked when the DAG is parsed: these arguments are not templated.
OPERATOR_PARSE_TIME = [row for row in INVALID_FIELDS if row[0] in NOT_TEMPLATED_FIELDS] + [
    ("kling_conn_id", "", "allowed: the id of a connection of type kling"),
    ("kling_conn_id", None, "allowed: the id of a connection of type kling"),
    ("wait_for_completion", "yes", "allowed: True or False"),
    ("wait_for_completion", None, "allowed: True or False"),
    ("deferrable", "true", "allowed: True or False"),
    ("deferrable", 1, "allowed: True or False"),
    ("poll_interval", 0, "allowed: a number of seconds above 0"),
    ("poll_interval", -5, "allowed: a number of seconds above 0"),
    ("poll_interval", "10", "allowed: a number of seconds above 0"),
    ("poll_interval", True, "allowed: a number of seconds above 0"),
    ("poll_interval", float("nan"), "allowed: a number of seconds above 0"),
    ("on_unknown_submission", "retry", "allowed: resubmit, fail"),
    ("on_unknown_submission", None, "allowed: resubmit, fail"),
    ("timeout", 0, "allowed: a number of seconds above 0"),
    ("timeout", "1h", "allowed: a number of seconds above 0"),
    ("timeout", timedelta(0), "allowed: a number of seconds above 0"),
    ("timeout", None, "allowed: a number of seconds above 0"),
    ("timeout", 10**400, "at most 2592000 (30 days)"),
]

SENSOR_RUN_TIME = [
    ("kling_task_id", "", "allowed: a Kling task id or external_task_id"),
    ("kling_task_id", "   ", "allowed: a Kling task id or external_task_id"),
    ("kling_task_id", 123, "allowed: a Kling task id or external_task_id"),
    ("kling_task_id", None, "allowed: a Kling task id or external_task_id"),
]

#: What Airflow's BaseSensorOperator raises for its own arguments: AirflowException before Airflow 3.1.
AIRFLOWS_OWN = ValueError if AIRFLOW_V_3_1_PLUS else AirflowException

# The sensor's own arguments, then those Airflow's BaseSensorOperator checks with its own words.
SENSOR_PARSE_TIME = [
    ("endpoint", "upscale", KlingValidationError, "allowed: text2video, image2video, multi-image2video, video-extend"),
    ("kling_conn_id", "", KlingValidationError, "allowed: the id of a connection of type kling"),
    ("deferrable", "false", KlingValidationError, "allowed: True or False"),
    ("poke_interval", -1, AIRFLOWS_OWN, "poke_interval` must be timedelta object or a non-negative number"),
    ("poke_interval", "10", AIRFLOWS_OWN, "poke_interval` must be timedelta object or a non-negative number"),
    ("poke_interval", 0, KlingValidationError, "allowed: a number of seconds above 0"),
    ("timeout", -1, AIRFLOWS_OWN, "timeout` must be timedelta object or a non-negative number"),
    ("mode", "fast", AIRFLOWS_OWN, "The mode must be one of ['poke', 'reschedule']"),
]


def _assert_names(error: KlingValidationError, argument: str, text: str) -> None:
    assert error.field.partition(".")[0] == argument  # camera_control.config.zoom names the argument first
    assert str(error).startswith(f"Invalid {argument}")
    assert text in str(error)
    assert isinstance(error, KlingPermanentError), "a retry cannot mend bad input: it must not use retries"


@pytest.mark.parametrize(("argument", "value", "text"), OPERATOR_RUN_TIME)
def test_operator_bad_value_fails_the_run_before_any_request(cometapi_sandbox, argument, value, text):
    fields = {"prompt": "a cat", argument: value}
    operator = KlingText2VideoOperator(task_id="generate", **fields)
    if argument == "duration" and "{{" in str(value):
        operator.duration = "7"  # what the template renders to at run time
    with pytest.raises(KlingValidationError) as raised:
        operator.execute(task_context())
    _assert_names(raised.value, argument, text)
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(("argument", "value", "text"), OPERATOR_PARSE_TIME)
def test_operator_bad_value_fails_when_the_dag_is_parsed(cometapi_sandbox, argument, value, text):
    with pytest.raises(KlingValidationError) as raised:
        KlingText2VideoOperator(task_id="generate", prompt="a cat", **{argument: value})
    _assert_names(raised.value, argument, text)
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(("argument", "value", "text"), SENSOR_RUN_TIME)
def test_sensor_bad_value_fails_the_run_before_any_request(cometapi_sandbox, argument, value, text):
    sensor = KlingTaskSensor(task_id="wait", **{argument: value})
    with pytest.raises(KlingValidationError) as raised:
        sensor.execute(context={})
    _assert_names(raised.value, argument, text)
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize(("argument", "value", "error_class", "text"), SENSOR_PARSE_TIME)
def test_sensor_bad_value_fails_when_the_dag_is_parsed(cometapi_sandbox, argument, value, error_class, text):
    with pytest.raises(error_class, match=argument) as raised:
        KlingTaskSensor(task_id="wait", kling_task_id="123", **{argument: value})
    assert text in str(raised.value)
    assert cometapi_sandbox.requests == []


def test_every_argument_is_in_a_table():
    import inspect

    tabled = {row[0] for row in OPERATOR_RUN_TIME + OPERATOR_PARSE_TIME}
    operator_arguments = {
        name
        for cls in (KlingText2VideoOperator, KlingVideoOperator)
        for name in inspect.signature(cls.__init__).parameters
    } - {"self", "kwargs"}
    assert operator_arguments == tabled
    sensor_arguments = set(inspect.signature(KlingTaskSensor.__init__).parameters) - {"self", "kwargs"}
    assert sensor_arguments <= {row[0] for row in SENSOR_RUN_TIME + SENSOR_PARSE_TIME}


def test_a_missing_connection_fails_the_run_naming_it(cometapi_sandbox):
    operator = KlingText2VideoOperator(task_id="generate", prompt="a cat", kling_conn_id="kling_nowhere")
    with pytest.raises(AirflowNotFoundException, match="kling_nowhere") as raised:
        operator.execute(task_context())
    assert not isinstance(raised.value, AirflowFailException)  # Airflow's retries apply: it may be created meanwhile
    assert cometapi_sandbox.requests == []


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_key_kept_in_the_extras_works_and_is_masked(cometapi_sandbox, monkeypatch, asynchronous):
    sandbox = cometapi_sandbox
    from airflow.providers.common.compat.sdk import redact

    key = f"sk-kling-EXTRAS-ONLY-{'async' if asynchronous else 'sync'}-0123456789"
    assert redact(f"key {key}") == f"key {key}", "the key must be unknown to the masker before the hook reads it"
    monkeypatch.setattr(sandbox, "api_key", key)
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": sandbox.url, "extra": {"api_key": key, "retry_delay": 0.01}}),
    )
    if asynchronous:

        async def ask() -> None:
            hook = KlingAsyncHook()
            try:
                with pytest.raises(KlingTaskNotFoundError):
                    await hook.get_task("nothing-by-this-id")
            finally:
                await hook.close()

        asyncio.run(ask())
    else:
        with pytest.raises(KlingTaskNotFoundError):
            KlingHook().get_task("nothing-by-this-id")
    assert sandbox.requests, "the key from the extras was not accepted"
    assert redact(f"key {key}") == "key ***"
