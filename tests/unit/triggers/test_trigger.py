"""Fast: the trigger's state across a triggerer restart, and the one event it yields for each way a wait ends."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import itertools
import json
import random
import re
import time
from types import SimpleNamespace

import pytest
from airflow.triggers.base import TaskSuccessEvent
from conftest import connection_json
from support.answer_tables import paused
from support.task_context import TASK_INSTANCE

from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.sandbox import Fault
from airflow_provider_kling.triggers import kling as trigger_module
from airflow_provider_kling.triggers.kling import POLL_INTERVAL_SHARES, KlingTaskTrigger, RenderTimes, poll_delay


def _events(trigger: KlingTaskTrigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), 20))


def _recorded_pauses(monkeypatch: pytest.MonkeyPatch, *, sleep_at_most: float = float("inf")) -> list[float]:
    """The trigger's sleeps from now on, each as asked for, slept for at most ``sleep_at_most`` seconds."""
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(min(seconds, sleep_at_most))

    monkeypatch.setattr(trigger_module, "asyncio", SimpleNamespace(sleep=sleep))
    return pauses


def _logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    """What the trigger logged, once: Airflow 2 logs to both the log records and stdout, Airflow 3 to one of them."""
    return caplog.text if "Kling task" in caplog.text else capfd.readouterr().out


def _messages(pattern: str, logged: str) -> list[str]:
    """Each logged message that is ``pattern`` whole: from a word's start to the line's end (or, in structlog's
    lines, to the logger's name)."""
    return re.findall(rf"(?m)\b{pattern}(?: \[|$)", logged)


def _recreated(serialized: tuple[str, dict]) -> KlingTaskTrigger:
    """The trigger as a triggerer builds it from the row Airflow stored: its class by path, its kwargs."""
    classpath, kwargs = serialized
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


def test_serialize_gives_back_every_argument():
    trigger = KlingTaskTrigger(
        "880001",
        deadline=1_900_000_000.5,
        kling_conn_id="kling_eu",
        poll_interval=7.5,
        started_at=1_800_000_000.25,
        endpoint="video-extend",
        render_kind="kling_eu video-extend None None None",
        end_with_xcoms={"return_value": "task"},
        cost_tags={"conn_id": "kling_eu", "endpoint": "video-extend", "model": "default", "mode": "default"},
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_kling.triggers.kling.KlingTaskTrigger"
    assert kwargs == {
        "kling_task_id": "880001",
        "deadline": 1_900_000_000.5,
        "kling_conn_id": "kling_eu",
        "poll_interval": 7.5,
        "started_at": 1_800_000_000.25,
        "endpoint": "video-extend",
        "render_kind": "kling_eu video-extend None None None",
        "end_with_xcoms": {"return_value": "task"},
        "cost_tags": {"conn_id": "kling_eu", "endpoint": "video-extend", "model": "default", "mode": "default"},
    }


def test_a_restarted_triggerer_keeps_the_deadline_and_the_start(monkeypatch):
    trigger = KlingTaskTrigger("880001", deadline=time.time() + 600)
    stored = trigger.serialize()  # when the task defers
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 500)  # a triggerer picks the row up 500 s later
    again = _recreated(stored)
    assert (again.deadline, again.started_at) == (trigger.deadline, trigger.started_at)
    assert again.serialize() == stored


def test_a_new_trigger_starts_its_clock_now():
    before = time.time()
    trigger = KlingTaskTrigger("880001", deadline=before + 60)
    assert before <= trigger.started_at <= time.time()


def _submitted(sandbox, prompt: str = "a fox") -> str:
    return KlingHook().create_text2video(prompt)["task_id"]


def test_a_finished_task_gives_one_event_with_its_videos(sandbox):
    task_id = _submitted(sandbox)
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "succeed" and event["kling_task_id"] == task_id
    assert event["task"]["task_result"]["videos"][0]["url"] in event["message"]


def test_a_failed_task_gives_a_failed_event(sandbox):
    task_id = _submitted(sandbox, "sandbox:fail a fox")
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "failed" and event["task"]["task_status"] == "failed"


def _raw_events(trigger: KlingTaskTrigger) -> list:
    async def collect():
        return [event async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), 20))


@pytest.mark.parametrize("task_instance", [None, SimpleNamespace(**TASK_INSTANCE)], ids=["none", "no triggerer"])
def test_a_trigger_told_to_end_the_task_leaves_it_to_a_worker_where_it_cannot_set_the_xcoms(
    sandbox, caplog, capfd, task_instance
):
    # dag.test() runs triggers without a task instance; here a task instance has no triggerer to set XComs through.
    # Either way the worker resumes the task and sets them, as before. Ending a task from the trigger, with its
    # XComs read back by a downstream task, is tests/system/test_production_shape.py's, under real triggerers.
    task_id = _submitted(sandbox)
    xcoms = {"return_value": "task", "_link_KlingVideoLink": "video_url"}
    trigger = KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1, end_with_xcoms=xcoms)
    trigger.task_instance = task_instance
    [event] = _raw_events(trigger)
    assert not isinstance(event, TaskSuccessEvent) and event.payload["status"] == "succeed"
    logged = _logged(caplog, capfd)
    said = _messages("Could not set the task's XComs from the trigger: a worker resumes the task instead", logged)
    assert len(said) == (0 if task_instance is None else 1)


@pytest.mark.skipif(
    importlib.util.find_spec("airflow.models.task_state_store") is None,
    reason="triggers set XComs (XCom.aset) from Airflow 3.3, where the operator and the sensor ask them to",
)
def test_a_trigger_told_to_end_the_task_sets_each_xcom_through_the_triggerer_then_ends_it(
    sandbox, caplog, capfd, monkeypatch
):
    from airflow.sdk.execution_time import task_runner

    # The triggerer's channel to its supervisor, which only a running triggerer has: here it keeps what it is sent.
    sent: list = []

    async def asend(message):
        sent.append(message)

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", SimpleNamespace(asend=asend), raising=False)
    task_id = _submitted(sandbox)
    xcoms = {"return_value": "task", "_link_KlingVideoLink": "video_url"}
    trigger = KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1, end_with_xcoms=xcoms)
    trigger.task_instance = SimpleNamespace(**{**TASK_INSTANCE, "map_index": 3})
    [event] = _raw_events(trigger)
    assert isinstance(event, TaskSuccessEvent) and event.xcoms is None
    where = {"dag_id": "calendar", "task_id": "generate", "run_id": "scheduled__2026-11-23", "map_index": 3}
    sent = [message for message in sent if type(message).__name__ == "SetXCom"]  # not the key's MaskSecret
    assert [{"key": message.key, **{field: getattr(message, field) for field in where}} for message in sent] == [
        {"key": "return_value", **where},
        {"key": "_link_KlingVideoLink", **where},
    ]
    task, url = (message.value for message in sent)
    assert task["task_id"] == task_id and task["task_status"] == "succeed"
    assert url == task["task_result"]["videos"][0]["url"]
    logged = _logged(caplog, capfd)
    ended = rf"Kling task {task_id} ended succeed after \d+ s; videos: {re.escape(url)}"
    assert len(_messages(ended + ": the Airflow task ends here, with no worker to resume it", logged)) == 1


def test_a_trigger_told_to_end_the_task_leaves_a_failure_to_the_worker(sandbox):
    task_id = _submitted(sandbox, "sandbox:fail a fox")
    xcoms = {"return_value": "task"}
    trigger = KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1, end_with_xcoms=xcoms)
    [event] = _raw_events(trigger)
    assert not isinstance(event, TaskSuccessEvent) and event.payload["status"] == "failed"


def test_an_error_no_retry_can_fix_is_marked_not_retryable(cometapi_sandbox):
    cometapi_sandbox.inject(Fault(status=401, code=1000, message="bad key", count=10))
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "error" and event["retryable"] is False and "bad key" in event["message"]


def test_a_transient_error_that_outlasts_the_retries_is_marked_retryable(cometapi_sandbox):
    cometapi_sandbox.inject(Fault(status=503, code=5001, message="busy", count=50))
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "error" and event["retryable"] is True and "busy" in event["message"]
    assert len(cometapi_sandbox.requests) == 6  # the first try and the connection's 5 retries


def test_an_unknown_status_is_waited_on_not_taken_as_an_end(cometapi_sandbox):
    task_id = _submitted(cometapi_sandbox)
    cometapi_sandbox.inject(Fault(status=200, body=paused(task_id), method="GET", count=3))
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "succeed"
    assert cometapi_sandbox.stats()["faults_served"] == {"200/raw": 3}


def test_a_deadline_that_passes_gives_a_timeout_with_the_last_status(cometapi_sandbox):
    cometapi_sandbox.render_seconds = 60
    task_id = _submitted(cometapi_sandbox)
    started = time.time()
    [event] = _events(KlingTaskTrigger(task_id, deadline=started + 0.5, poll_interval=0.1, started_at=started - 100))
    assert event["status"] == "timeout" and time.time() - started < 5
    assert re.search(r"waited 10[01] s, last status '(submitted|processing)'", event["message"])


def test_a_deadline_already_past_gives_a_timeout_without_asking_or_sleeping(cometapi_sandbox, monkeypatch):
    pauses = _recorded_pauses(monkeypatch)
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() - 1, poll_interval=0.1))
    assert event["status"] == "timeout" and cometapi_sandbox.requests == []
    assert pauses == [0.0]


@pytest.mark.parametrize("poll_interval", [0.05, 0.3])
def test_polls_follow_the_interval(cometapi_sandbox, poll_interval):
    cometapi_sandbox.render_seconds = 1.0
    task_id = _submitted(cometapi_sandbox)
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=poll_interval))
    polls = sum(1 for request in cometapi_sandbox.requests if request[0] == "GET")
    assert event["status"] == "succeed"
    # Never faster than the shortest pause allowed (80% of the interval); slower only as a busy machine makes it.
    assert 1.0 / poll_interval * 0.3 <= polls <= 1.0 / (POLL_INTERVAL_SHARES[0] * poll_interval) + 3


def test_a_trigger_built_with_only_an_id_and_a_deadline_has_the_documented_defaults():
    kwargs = KlingTaskTrigger("880001", deadline=0).serialize()[1]
    assert (kwargs["kling_conn_id"], kwargs["poll_interval"]) == ("kling_default", 10.0)


def test_the_trigger_asks_through_its_own_connection(cometapi_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KLING_OTHER", connection_json(cometapi_sandbox))
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json("http://127.0.0.1:9"))
    task_id = KlingHook("kling_other").create_text2video("a fox")["task_id"]
    trigger = KlingTaskTrigger(task_id, deadline=time.time() + 15, kling_conn_id="kling_other", poll_interval=0.1)
    assert _events(trigger)[0]["status"] == "succeed"


def test_the_end_message_names_the_task_its_time_and_every_video(cometapi_sandbox):
    videos = [{"url": "https://cdn.example/1.mp4"}, {"url": "https://cdn.example/2.mp4"}]
    task = {"task_id": "880001", "task_status": "succeed", "task_result": {"videos": videos}}
    cometapi_sandbox.inject(Fault(status=200, body=json.dumps({"code": 0, "data": task}), method="GET"))
    trigger = KlingTaskTrigger("880001", deadline=time.time() + 15, poll_interval=0.1, started_at=time.time() - 42)
    [event] = _events(trigger)
    assert re.fullmatch(
        r"Kling task 880001 ended succeed after 4[23] s; videos: https://cdn.example/1.mp4, https://cdn.example/2.mp4",
        event["message"],
    )


def test_a_deadline_already_past_says_nothing_was_seen(cometapi_sandbox):
    [event] = _events(KlingTaskTrigger("880001", deadline=time.time() - 1))
    assert event["task"] is None and event["message"].endswith("last status 'unknown'")


def test_an_answer_slower_than_the_deadline_ends_the_wait_with_the_last_task_seen(cometapi_sandbox):
    # The hook's own deadline cuts the second request: the event carries what the first one answered.
    task_id = _submitted(cometapi_sandbox)
    cometapi_sandbox.inject(
        Fault(status=200, body=paused(task_id), method="GET"), Fault(status=0, delay=5, method="GET")
    )
    started = time.time()
    [event] = _events(KlingTaskTrigger(task_id, deadline=started + 1, poll_interval=0.1, started_at=started))
    assert event["status"] == "timeout" and time.time() - started < 4
    assert event["task"]["task_id"] == task_id and event["task"]["task_status"] == "paused"
    assert event["message"].endswith("""last status "'paused' (unexpected: waiting on)\"""")


@pytest.mark.parametrize(("jump", "status"), [(10, "timeout"), (5, "timeout"), (4.5, "succeed")])
def test_the_deadline_is_checked_after_each_answer(cometapi_sandbox, monkeypatch, jump, status):
    # The trigger's clock jumps once the service has answered a poll: at or past the deadline, no other poll and a
    # timeout event; half a second before it, the wait goes on until the render ends. The render lasts 2 s, so that
    # the first poll finds it under way however late a busy machine sends it.
    monkeypatch.setattr(cometapi_sandbox, "render_seconds", 2.0)
    task_id = _submitted(cometapi_sandbox)
    now = time.time()
    clock = SimpleNamespace(time=lambda: now + (jump if len(cometapi_sandbox.requests) > 1 else 0))
    monkeypatch.setattr("airflow_provider_kling.triggers.kling.time", clock)
    [event] = _events(KlingTaskTrigger(task_id, deadline=now + 5, poll_interval=0.1))
    assert event["status"] == status and event["task"]["task_id"] == task_id
    if status == "timeout":
        assert re.fullmatch(
            rf"Kling task {task_id} did not end within the timeout: waited {jump} s, "
            r"last status '(submitted|processing)'",
            event["message"],
        )
        assert [method for method, _ in cometapi_sandbox.requests] == ["POST", "GET"]


def test_an_error_after_an_answer_carries_the_last_task_seen(cometapi_sandbox):
    task_id = _submitted(cometapi_sandbox)
    cometapi_sandbox.inject(
        Fault(status=200, body=paused(task_id), method="GET"), Fault(status=401, code=1000, method="GET", count=5)
    )
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1))
    assert event["status"] == "error" and event["task"]["task_status"] == "paused"


def test_each_status_change_is_logged_once(cometapi_sandbox, caplog, capfd, monkeypatch):
    # A render long enough for the first poll to see "submitted" (its first quarter) on a busy machine.
    monkeypatch.setattr(cometapi_sandbox, "render_seconds", 4.0)
    task_id = _submitted(cometapi_sandbox)
    _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.05))
    logged = _logged(caplog, capfd)
    for status in ("submitted", "processing", "succeed"):
        assert len(_messages(rf"Kling task {task_id} is {status} after \d+ s", logged)) == 1, status


def test_a_task_of_another_endpoint_is_read_on_its_own_route(kling_sandbox):
    # Kling's own API finds a task only on its endpoint's route: a trigger that asked text2video's would not.
    task_id = KlingHook().create_task("image2video", image="https://images.example/still.png")["task_id"]
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.1, endpoint="image2video"))
    assert event["status"] == "succeed" and event["kling_task_id"] == task_id


def test_poll_delays_spread_over_the_interval_and_never_exceed_it(monkeypatch):
    monkeypatch.setattr(trigger_module, "poll_jitter", random.Random(13))
    firsts = [poll_delay(10.0, first=True) for _ in range(2000)]
    laters = [poll_delay(10.0, first=False) for _ in range(2000)]
    assert 0 <= min(firsts) < 0.1 and 9.9 < max(firsts) < 10
    assert 9 <= min(laters) < 9.05 and 9.95 < max(laters) <= 10


def test_a_wait_sleeps_a_random_share_of_the_interval_before_each_poll(cometapi_sandbox, monkeypatch):
    cometapi_sandbox.render_seconds = 3.0  # a busy machine's first poll (its client made, its key read) takes 1 s
    task_id = _submitted(cometapi_sandbox)
    pauses = _recorded_pauses(monkeypatch)
    [event] = _events(KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=0.2))
    polls = [method for method, _ in cometapi_sandbox.requests if method == "GET"]
    assert event["status"] == "succeed" and len(pauses) == len(polls) > 3
    assert 0 <= pauses[0] < 0.2 and all(0.18 <= pause <= 0.2 for pause in pauses[1:])
    assert len(set(pauses)) == len(pauses)  # drawn, not fixed


def test_waits_started_together_spread_their_first_polls_over_the_interval(cometapi_sandbox, monkeypatch):
    # As after a triggerer restart: 20 waits start at the same instant; their first polls reach the service
    # spread over the interval, not as a herd.
    monkeypatch.setattr(trigger_module, "poll_jitter", random.Random(13))
    # A request budget that spaces nothing: the spread is the jitter's alone.
    monkeypatch.setenv("AIRFLOW_CONN_KLING_DEFAULT", connection_json(cometapi_sandbox, requests_per_second=10_000))
    cometapi_sandbox.render_seconds = 0  # ended: each wait polls once
    task_id = _submitted(cometapi_sandbox)

    async def herd() -> list[dict]:
        async def wait() -> dict:
            async for event in KlingTaskTrigger(task_id, deadline=time.time() + 15, poll_interval=2).run():
                return event.payload
            raise AssertionError("no event")

        return await asyncio.gather(*(wait() for _ in range(20)))

    events = asyncio.run(asyncio.wait_for(herd(), 20))
    assert [event["status"] for event in events] == ["succeed"] * 20
    polls = cometapi_sandbox.request_times[1:]
    assert len(polls) == 20 and max(polls) - min(polls) > 1.0


def test_a_first_poll_due_after_the_deadline_is_not_sent(cometapi_sandbox, monkeypatch):
    # Half of an hour-long interval: the first poll's delay is cut to the deadline, which then ends the wait.
    monkeypatch.setattr(trigger_module, "poll_jitter", SimpleNamespace(random=lambda: 0.5))
    started = time.time()
    [event] = _events(KlingTaskTrigger("880001", deadline=started + 0.5, poll_interval=3600))
    assert event["status"] == "timeout" and time.time() - started < 5
    assert cometapi_sandbox.requests == []


def test_a_pause_between_polls_is_cut_to_the_deadline(cometapi_sandbox, monkeypatch):
    cometapi_sandbox.render_seconds = 60
    task_id = _submitted(cometapi_sandbox)
    monkeypatch.setattr(trigger_module, "poll_jitter", SimpleNamespace(random=lambda: 0.0))  # first poll at once
    started = time.time()
    [event] = _events(KlingTaskTrigger(task_id, deadline=started + 1, poll_interval=3600))
    assert event["status"] == "timeout" and time.time() - started < 5
    assert [method for method, _ in cometapi_sandbox.requests] == ["POST", "GET"]


def test_the_shortest_render_is_learnt_from_enough_renders_and_forgotten_after_a_shorter_one():
    renders = RenderTimes(window=4, needed=2)
    renders.remember("a", 70.0)
    assert renders.shortest("a") == 0.0  # one render is not enough to skip anything
    renders.remember("a", 65.0)
    renders.remember("b", 5.0)  # another kind of generation
    assert (renders.shortest("a"), renders.shortest("b")) == (65.0, 0.0)
    renders.remember("a", -1.0)  # ended before its first poll: renders of "a" may have got shorter
    assert renders.shortest("a") == 0.0
    for _ in range(3):
        renders.remember("a", 80.0)
    assert renders.shortest("a") == 0.0  # the 0 is still among the latest 4
    renders.remember("a", 90.0)
    assert renders.shortest("a") == 80.0


def test_a_wait_skips_the_polls_before_the_shortest_render_of_its_kind(cometapi_sandbox, monkeypatch):
    renders = RenderTimes(needed=1)
    renders.remember("fox", 2.0)
    monkeypatch.setattr(trigger_module, "render_times", renders)
    cometapi_sandbox.render_seconds = 2.5
    learnt, other = _submitted(cometapi_sandbox), _submitted(cometapi_sandbox)
    started = time.time()

    async def both() -> list[dict]:
        async def wait(task_id: str, kind: str | None) -> dict:
            trigger = KlingTaskTrigger(task_id, deadline=started + 15, poll_interval=0.1, render_kind=kind)
            async for event in trigger.run():
                return event.payload
            raise AssertionError("no event")

        return await asyncio.gather(wait(learnt, "fox"), wait(other, None))

    events = asyncio.run(asyncio.wait_for(both(), 20))
    assert [event["status"] for event in events] == ["succeed", "succeed"]
    polls = {task_id: [] for task_id in (learnt, other)}
    for (method, path), at in zip(cometapi_sandbox.requests, cometapi_sandbox.request_times, strict=True):
        if method == "GET":
            polls[path.rsplit("/", 1)[1]].append(at)
    begun = cometapi_sandbox.request_times[1]  # the second submission, just before the waits began
    # Learnt: the first poll after 90-100% of the shortest render (2 s), then each after about the interval (a
    # busy machine delays some), none skipped. Of no kind: polls from the start.
    assert 1.8 <= polls[learnt][0] - begun < 2.6
    assert all(later - earlier < 0.6 for earlier, later in itertools.pairwise(polls[learnt]))
    assert polls[other][0] < polls[learnt][0] - 1 and len(polls[other]) > len(polls[learnt]) + 5


def test_a_triggerer_skips_polls_after_five_renders_of_a_kind_and_remembers_the_latest_hundred():
    renders = RenderTimes()
    for _ in range(4):
        renders.remember("fox", 60.0)
    assert renders.shortest("fox") == 0.0
    renders.remember("fox", 60.0)
    assert renders.shortest("fox") == 60.0
    renders.remember("fox", 0.0)
    for _ in range(99):
        renders.remember("fox", 70.0)
    assert renders.shortest("fox") == 0.0  # the 0 is the 100th latest
    renders.remember("fox", 70.0)
    assert renders.shortest("fox") == 70.0


def test_the_first_poll_comes_after_ninety_to_a_hundred_percent_of_the_shortest_render(cometapi_sandbox, monkeypatch):
    cometapi_sandbox.render_seconds = 0
    task_id = _submitted(cometapi_sandbox)
    pauses = _recorded_pauses(monkeypatch, sleep_at_most=0)
    for share, first_poll in ((0.0, 90.0), (1.0, 100.0)):  # the lowest and the highest share drawn
        renders = RenderTimes(needed=1)  # afresh: a render over at the first poll teaches 0 s
        renders.remember("fox", 100.0)
        monkeypatch.setattr(trigger_module, "render_times", renders)
        monkeypatch.setattr(trigger_module, "poll_jitter", SimpleNamespace(random=lambda share=share: share))
        trigger = KlingTaskTrigger(task_id, deadline=time.time() + 600, poll_interval=0.1, render_kind="fox")
        [event] = _events(trigger)
        assert event["status"] == "succeed" and first_poll - 1 < pauses.pop(0) <= first_poll


def test_a_wait_remembers_how_long_its_render_lasted_at_least(cometapi_sandbox, monkeypatch):
    renders = RenderTimes(needed=1)
    monkeypatch.setattr(trigger_module, "render_times", renders)
    cometapi_sandbox.render_seconds = 2.0
    under_way = _submitted(cometapi_sandbox)
    [event] = _events(KlingTaskTrigger(under_way, deadline=time.time() + 15, poll_interval=0.1, render_kind="fox"))
    assert event["status"] == "succeed" and 1.0 < renders.shortest("fox") <= 2.0  # never more than the render
    # A render already over at the first poll: how long it lasted is unknown, so nothing is skipped after it.
    cometapi_sandbox.render_seconds = 0
    ended = _submitted(cometapi_sandbox)
    [event] = _events(KlingTaskTrigger(ended, deadline=time.time() + 15, poll_interval=0.1, render_kind="fox"))
    assert event["status"] == "succeed" and renders.shortest("fox") == 0.0

    # A failed render (a refused prompt ends early) teaches nothing.
    def answer(status: str) -> Fault:
        return Fault(
            status=200, body=json.dumps({"code": 0, "data": {"task_id": "9", "task_status": status}}), method="GET"
        )

    cometapi_sandbox.inject(answer("processing"), answer("processing"), answer("failed"))
    [event] = _events(KlingTaskTrigger("9", deadline=time.time() + 15, poll_interval=0.1, render_kind="cat"))
    assert event["status"] == "failed" and renders.shortest("cat") == 0.0
