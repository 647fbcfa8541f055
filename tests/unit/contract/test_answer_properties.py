"""Random answers from a service (Hypothesis): the parser and the trigger never crash, never yield more than one
event, and never report a success without a video."""

from __future__ import annotations

import asyncio
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_kling.contract import TASK_ID_PATTERN, parse_response, parse_task, task_video_urls
from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.triggers.kling import KlingTaskTrigger

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
ANY_JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
)
STATUSES = st.sampled_from(["submitted", "processing", "succeed", "failed", "SUCCESS", "queued", ""]) | ANY_JSON
VIDEOS = st.lists(
    st.fixed_dictionaries(
        {}, optional={"url": st.sampled_from(["https://cdn.example/v.mp4", "javascript:x"]) | ANY_JSON}
    ),
    max_size=3,
)
TASKS = st.fixed_dictionaries(
    {},
    optional={
        "task_id": st.sampled_from(["880001", "task_Ab-1", "../x", ""]) | ANY_JSON,
        "task_status": STATUSES,
        "status": STATUSES,
        "task_result": st.fixed_dictionaries({}, optional={"videos": VIDEOS | ANY_JSON}) | ANY_JSON,
        "data": ANY_JSON,
    },
)
ANSWERS = (
    st.fixed_dictionaries(
        {},
        optional={
            "code": st.sampled_from([0, "success", 1203, "task_not_exist", 5000]) | ANY_JSON,
            "data": TASKS | ANY_JSON,
        },
    )
    | ANY_JSON
)


@settings(max_examples=400, deadline=None)
@given(status=st.sampled_from([200, 201, 301, 400, 401, 404, 429, 500, 502, 524]), answer=ANSWERS)
def test_the_parser_gives_a_trusted_task_or_a_kling_error(status, answer):
    body = json.dumps(answer).encode()
    try:
        task = parse_task(parse_response(status, {}, body))
    except KlingError:
        return
    assert 200 <= status < 300
    assert TASK_ID_PATTERN.fullmatch(task["task_id"])
    assert all(url.startswith(("http://", "https://")) for url in task_video_urls(task))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=ANSWERS)
def test_the_trigger_yields_one_event_and_no_success_without_a_video(cometapi_sandbox, answer):
    cometapi_sandbox.reset()
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps(answer), count=1000))
    trigger = KlingTaskTrigger("880001", deadline=time.time() + 0.4, poll_interval=0.1)

    async def collect():
        return [event async for event in trigger.run()]

    events = asyncio.run(asyncio.wait_for(collect(), 10))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] in ("succeed", "failed", "timeout", "error")
    if payload["status"] == "succeed":
        assert task_video_urls(payload["task"])
