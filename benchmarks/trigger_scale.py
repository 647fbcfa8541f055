"""Trigger scale: N ``KlingTaskTrigger``s in one asyncio event loop, as a triggerer runs them.

The sandbox runs in its own process with a latency on every answer; each trigger waits for its own
task, which ends after a few polls. Trigger starts are spread over one poll interval, as waits
deferred at different times are; with ``--herd`` they all start at the same instant, as after a
triggerer restart. Each kind of trigger runs in a fresh process, which prints:

- wall time against the ideal (for each trigger, its polls x latency + the sleeps between them);
- event-loop lag, measured by a ticker task that asks to wake every 10 ms (p50/p99/max), and the
  longest garbage-collection pause (which stops the loop too);
- the time a poll waited beyond the sandbox's latency (queueing behind other polls);
- CPU time per poll, peak RSS growth per trigger, TCP connections the sandbox accepted, and the share
  of requests the sandbox refused with 429 (``--rate-limit``: the sandbox allows that many requests a
  second on the key).

Our triggers' connection sets ``requests_per_second`` (``--requests-per-second``; by default 10,000,
so that the request budget holds nothing back and the loop is what is measured).

Baselines in the same run: the same waits through a trigger that opens a fresh HTTP client for
every poll (the common pattern), and Airflow's own ``HttpSensorTrigger`` (http provider) polling
the sandbox's ``/_sandbox/ended/<id>`` (404 until the task ends), when that provider is installed.
With ``--herd``: our trigger with fixed polls (the first at once) and no bound on requests in flight,
as before issue 13; and, as the floor of any trigger, waits that sleep until their task has ended and
never ask (what the event loop and the garbage collector cost with N waits and no requests). With
``--rate-limit``: our trigger without a request budget, each wait retrying a rate-limited poll on its
own (no pause shared by the waits), as before issue 13. In every mode: our trigger on the transport it
had before aiohttp (httpx, ten clients of ten connections each), kept here only, so that both transports
are measured in the same run.

    bash scripts/bench.sh trigger_scale [--n 100 1000 5000] [--poll-interval 10] [--latency 0.1]
    bash scripts/bench.sh trigger_scale --herd --n 1000 3000 5000
    bash scripts/bench.sh trigger_scale --n 5000 --rate-limit 100 --requests-per-second 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from sandbox_process import KEY, main_or_worker, percentile, start_sandbox

KINDS = ("kling", "kling_httpx", "fresh_client", "http_sensor", "kling_in_step", "kling_no_budget", "sleeper")
LABELS = {
    "kling": "KlingTaskTrigger (shared pool)",
    "kling_httpx": "KlingTaskTrigger on httpx (before)",
    "fresh_client": "fresh client per poll",
    "http_sensor": "HttpSensorTrigger",
    "kling_in_step": "KlingTaskTrigger, no jitter/bound",
    "kling_no_budget": "KlingTaskTrigger, no budget/pause",
    "sleeper": "no polls: sleeps to the end",
}
#: The baselines of each mode: spread starts, a herd (``--herd``), a rate-limited sandbox (``--rate-limit``).
BASELINES = {
    "spread": ("kling_httpx", "fresh_client", "http_sensor"),
    "herd": ("kling_httpx", "kling_in_step", "sleeper"),
    "rate": ("kling_httpx", "kling_no_budget"),
}
#: A request budget that holds nothing back (the connection extra's maximum).
UNLIMITED_RATE = 10_000.0
TICK = 0.01


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _sandbox_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as answer:
        return json.load(answer)


def _set_rate_limit(url: str, rate: float) -> None:
    request = urllib.request.Request(
        f"{url}/_sandbox/rate_limit", data=json.dumps({"rate": rate}).encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


def _httpx_hook(httpx, hook_module):
    """
    Our async hook on the transport it had before aiohttp, for the baseline: per event loop and settings, ten
    ``httpx.AsyncClient`` of ten connections each (httpx's pool works quadratically in its size), each exchange on the
    least busy client, at most 100 in flight, behind the same request budget.
    """
    import asyncio

    from airflow_provider_kling.contract import is_rate_limited
    from airflow_provider_kling.exceptions import KlingError
    from airflow_provider_kling.netguard import MAX_ANSWER_BYTES, CappedBody

    clients_of: dict[tuple[int, object], tuple[list, list[int], asyncio.Semaphore]] = {}

    class HttpxAsyncHook(hook_module.KlingAsyncHook):
        async def _request_once(self, method, route):
            settings = await self.get_settings()
            pool = await self._pool()
            key = (id(asyncio.get_running_loop()), settings)
            if key not in clients_of:
                limits = httpx.Limits(max_connections=10)
                clients = [httpx.AsyncClient(headers=self.headers(), limits=limits) for _ in range(10)]
                clients_of[key] = (clients, [0] * 10, asyncio.Semaphore(100))
            clients, busy, in_flight = clients_of[key]
            await pool.budget.take(self.deadline, f"a request to {settings.base_url}{route}")
            request = self._prepare(settings, route)

            async def send():
                body = CappedBody(MAX_ANSWER_BYTES, None, f"The answer from {request.url}")
                async with in_flight:
                    index = busy.index(min(busy))
                    busy[index] += 1
                    try:
                        async with clients[index].stream(
                            method, request.url, headers=request.headers, timeout=request.timeout
                        ) as response:
                            async for chunk in response.aiter_bytes():
                                body.add(chunk)
                    finally:
                        busy[index] -= 1
                return response.status_code, response.headers, body.bytes()

            try:
                status, headers, content = await asyncio.wait_for(send(), request.timeout)
            except (httpx.HTTPError, asyncio.TimeoutError) as error:
                raise self._transport_error(settings, error) from None
            try:
                return self._finish(settings, request, status, headers, content)
            except KlingError as error:
                if is_rate_limited(error):
                    retry_after = getattr(error, "retry_after", None)
                    pool.budget.pause(settings.retry_delay if retry_after is None else retry_after)
                raise

    return HttpxAsyncHook


def worker(
    kind: str,
    count: int,
    url: str,
    poll_interval: float,
    latency: float,
    render_seconds: float,
    herd: bool,
    requests_per_second: float,
    rate_limit: float,
) -> dict:
    """
    Run ``count`` triggers of one kind in this process's event loop; return the figures.

    The ideal with spread starts: each wait's schedule with answers in the sandbox's latency and no
    queueing (its start, its sleeps, its polls' round trips). In a herd, whose first polls may come
    after the tasks have ended, or behind a budget, which stretches the polls: the latest time the
    poll interval promises, one poll interval (and one answer) after the last task's end.
    """
    import asyncio
    import contextvars
    import gc
    import importlib

    rate = UNLIMITED_RATE if kind == "kling_no_budget" else requests_per_second
    os.environ["AIRFLOW_CONN_KLING_DEFAULT"] = json.dumps(
        {"conn_type": "kling", "host": url, "password": KEY, "extra": {"requests_per_second": rate}}
    )
    os.environ["AIRFLOW_CONN_HTTP_DEFAULT"] = url
    import httpx
    from airflow.sdk import BaseHook
    from airflow.triggers.base import TriggerEvent

    from airflow_provider_kling.contract import (
        ACTIVE_STATUSES,
        COMETAPI,
        TEXT2VIDEO,
        build_text2video_request,
        parse_response,
    )

    text2video_path = COMETAPI.path(TEXT2VIDEO.route)
    from airflow_provider_kling.hooks import _async as hook_module
    from airflow_provider_kling.hooks import kling as public_hooks
    from airflow_provider_kling.hooks.kling import KlingAsyncHook
    from airflow_provider_kling.triggers import kling as trigger_module
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

    round_trips: list[float] = []
    polls: dict[str, int] = {}
    #: Each wait's scheduled sleeps (its jitter drawn), for the ideal; the wait's task id, in its asyncio task.
    slept: dict[str, float] = {}
    waiting_for: contextvars.ContextVar[str] = contextvars.ContextVar("waiting_for")
    poll_delay = trigger_module.poll_delay
    if kind == "kling_in_step":
        # As before issue 13: the first poll at once, then every poll_interval; no bound on requests in flight.
        hook_module.ASYNC_POOL_SIZE = 1 << 30

        def poll_delay(interval: float, *, first: bool) -> float:
            return 0.0 if first else interval

    if kind == "kling_no_budget":
        # As before issue 13: no request budget, and each wait retries a rate-limited poll on its own.
        hook_module._RequestBudget.pause = lambda budget, seconds: None

    def recorded_poll_delay(interval: float, *, first: bool) -> float:
        delay = poll_delay(interval, first=first)
        slept[waiting_for.get()] = slept.get(waiting_for.get(), 0.0) + delay
        return delay

    trigger_module.poll_delay = recorded_poll_delay

    def timed(task_id: str, started: float) -> None:
        round_trips.append(time.perf_counter() - started)
        polls[task_id] = polls.get(task_id, 0) + 1

    class FreshClientTrigger(KlingTaskTrigger):
        """The common pattern: a new HTTP client for every poll; the same parsing and timeout as ours."""

        async def run(self):
            conn = await BaseHook.aget_connection(self.kling_conn_id)
            while True:
                started = time.perf_counter()
                headers = {"Authorization": f"Bearer {conn.password}"}
                try:
                    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
                        answer = await client.get(f"{conn.host}{text2video_path}/{self.kling_task_id}")
                except httpx.HTTPError as error:  # as a trigger would: the task fails
                    yield TriggerEvent({"status": "error", "message": repr(error)})
                    return
                finally:
                    timed(self.kling_task_id, started)
                task = parse_response(answer.status_code, answer.headers, answer.content)
                if task["task_status"] not in ACTIVE_STATUSES:
                    yield TriggerEvent({"status": task["task_status"], "kling_task_id": self.kling_task_id})
                    return
                await asyncio.sleep(self.poll_interval)

    if kind == "kling_httpx":
        KlingAsyncHook = public_hooks.KlingAsyncHook = _httpx_hook(httpx, hook_module)

    if kind.startswith("kling"):
        request_once = KlingAsyncHook._request_once

        async def timed_request_once(self, method, path, **kwargs):
            started = time.perf_counter()
            try:
                return await request_once(self, method, path, **kwargs)
            finally:
                timed(path.rsplit("/", 1)[-1], started)

        KlingAsyncHook._request_once = timed_request_once

        def make(task_id: str):
            return KlingTaskTrigger(kling_task_id=task_id, deadline=time.time() + 3600, poll_interval=poll_interval)

    elif kind == "sleeper":

        class SleeperTrigger(KlingTaskTrigger):
            """The least a wait can cost the loop: it sleeps until its task has ended and never asks."""

            async def run(self):
                await asyncio.sleep(max(0.0, ends[self.kling_task_id] - time.perf_counter()))
                yield TriggerEvent({"status": "succeed", "kling_task_id": self.kling_task_id})

        def make(task_id: str):
            return SleeperTrigger(kling_task_id=task_id, deadline=time.time() + 3600, poll_interval=poll_interval)

    elif kind == "fresh_client":

        def make(task_id: str):
            return FreshClientTrigger(kling_task_id=task_id, deadline=time.time() + 3600, poll_interval=poll_interval)

    else:
        from airflow.providers.http.hooks.http import HttpAsyncHook
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        http_run = HttpAsyncHook.run

        async def timed_http_run(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return await http_run(self, *args, **kwargs)
            finally:
                timed(kwargs["endpoint"].rsplit("/", 1)[-1], started)

        HttpAsyncHook.run = timed_http_run

        def make(task_id: str):
            return HttpSensorTrigger(endpoint=f"_sandbox/ended/{task_id}", poke_interval=poll_interval)

    ends: dict[str, float] = {}

    async def create_tasks() -> list[str]:
        limit = asyncio.Semaphore(100)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:

            async def create(number: int) -> str:
                body = build_text2video_request({"prompt": f"scale test {number}"})
                async with limit:
                    answer = await client.post(f"{url}{text2video_path}", json=body)
                task_id = parse_response(answer.status_code, answer.headers, answer.content)["task_id"]
                ends[task_id] = time.perf_counter() + render_seconds
                return task_id

            return await asyncio.gather(*(create(number) for number in range(count)))

    async def run_all(task_ids: list[str]) -> dict:
        lags: list[float] = []
        peak = [_rss_bytes()]
        events: list[object] = []
        finished: dict[str, float] = {}
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await asyncio.sleep(TICK)
                lags.append(time.perf_counter() - started - TICK)
                if len(lags) % 10 == 0:
                    peak[0] = max(peak[0], _rss_bytes())

        async def wait(task_id: str, delay: float) -> None:
            waiting_for.set(task_id)
            await asyncio.sleep(delay)
            trigger = make(task_id)
            run = trigger.run()
            try:
                async for event in run:
                    events.append(event.payload)
                    break
            finally:
                await run.aclose()
            finished[task_id] = time.perf_counter() - began - delay

        ticking = asyncio.create_task(ticker())
        began = time.perf_counter()
        offsets = {task_id: 0.0 if herd else poll_interval * index / count for index, task_id in enumerate(task_ids)}
        await asyncio.gather(*(wait(task_id, offset) for task_id, offset in offsets.items()))
        wall = time.perf_counter() - began
        done.set()
        await ticking
        if herd or rate_limit or kind == "sleeper":
            ideal = max(ends.values()) - began + poll_interval + latency
        else:  # the sleeps drawn by our trigger's jitter; fixed intervals for the others
            ideal = max(
                offsets[task_id] + polls[task_id] * latency + slept.get(task_id, (polls[task_id] - 1) * poll_interval)
                for task_id in task_ids
            )
        return {"wall": wall, "ideal": ideal, "lags": lags, "peak": peak[0], "events": events}

    task_ids = asyncio.run(create_tasks())
    # What a triggerer has imported once its first wait has polled: not counted against the polls measured here.
    for module in ("aiohttp", "tenacity", "airflow_provider_kling.concurrency", "airflow_provider_kling.hooks.kling"):
        importlib.import_module(module)
    gc.collect()
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def time_collections(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(time_collections)
    rss_before = _rss_bytes()
    _set_rate_limit(url, rate_limit)  # once the tasks are made: only the waits' polls count against it
    before = _sandbox_stats(url)
    cpu_before = time.process_time()
    result = asyncio.run(run_all(task_ids))
    cpu = time.process_time() - cpu_before
    stats = _sandbox_stats(url)
    _set_rate_limit(url, 0)
    connections = stats["connections_opened"] - before["connections_opened"] - 1  # less this stats call
    ended = sum(1 for event in result["events"] if event is True or event.get("status") == "succeed")
    waits = [max(0.0, trip - latency) for trip in round_trips]
    return {
        "kind": kind,
        "n": count,
        "events": len(result["events"]),
        "succeeded": ended,
        "polls": len(round_trips),
        "wall_s": result["wall"],
        "ideal_s": result["ideal"],
        "lag_p50_ms": 1000 * percentile(result["lags"], 0.5),
        "lag_p99_ms": 1000 * percentile(result["lags"], 0.99),
        "lag_max_ms": 1000 * max(result["lags"]),
        "gc_max_ms": 1000 * max(gc_pauses, default=0.0),
        "wait_p99_ms": 1000 * percentile(waits, 0.99),
        "wait_max_ms": 1000 * max(waits, default=0.0),
        "cpu_ms_per_poll": 1000 * cpu / max(1, len(round_trips)),
        "rss_kb_per_trigger": (result["peak"] - rss_before) / 1024 / count,
        "connections": connections,
        "api_requests": stats["requests"].get("GET", 0) - before["requests"].get("GET", 0),
        "rate_limited": stats["faults_served"].get("rate_limited", 0),
    }


def http_sensor_installed() -> bool:
    probe = "import airflow.providers.http.triggers.http"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 5000], help="numbers of triggers")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds between a trigger's polls")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the sandbox takes to answer")
    parser.add_argument("--polls", type=float, default=3, help="polls after which a task ends (about)")
    parser.add_argument("--herd", action="store_true", help="start every wait at the same instant")
    parser.add_argument("--rate-limit", type=float, default=0, help="requests a second the sandbox allows the key")
    parser.add_argument(
        "--requests-per-second",
        type=float,
        default=UNLIMITED_RATE,
        help="our connection's request budget (default: 10000, holding nothing back)",
    )
    parser.add_argument("--kinds", nargs="+", choices=KINDS, help="default: ours and the mode's baselines")
    args = parser.parse_args()
    args.mode = "herd" if args.herd else "rate" if args.rate_limit else "spread"
    args.kinds = args.kinds or ["kling", *BASELINES[args.mode]]
    kinds = [kind for kind in args.kinds if kind != "http_sensor" or http_sensor_installed()]
    if len(kinds) < len(args.kinds):
        print("HttpSensorTrigger skipped: apache-airflow-providers-http is not installed (scripts/bench.sh has it)")
    render_seconds = (args.polls - 0.5) * args.poll_interval
    home = tempfile.mkdtemp(prefix="kling-bench-")
    env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "0"}
    sandbox, url = start_sandbox("--render-seconds", str(render_seconds), "--latency", str(args.latency))
    rows = []
    try:
        for count in args.n:
            for kind in kinds:
                urllib.request.urlopen(urllib.request.Request(f"{url}/_sandbox/reset", method="POST")).close()
                options = [
                    count,
                    url,
                    args.poll_interval,
                    args.latency,
                    render_seconds,
                    args.herd,
                    args.requests_per_second,
                    args.rate_limit,
                ]
                command = [sys.executable, __file__, "--worker", kind, json.dumps(options)]
                worker_run = subprocess.run(command, capture_output=True, text=True, env=env)
                if worker_run.returncode:
                    sys.exit(f"{count} x {LABELS[kind]} failed:\n{worker_run.stderr[-3000:]}")
                rows.append(json.loads(worker_run.stdout.strip().splitlines()[-1]))
                print(f"  ran {count} x {LABELS[kind]}: {rows[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    starts = "all at the same instant (a herd)" if args.herd else "starts spread over one interval"
    limits = f"; the sandbox allows {args.rate_limit:g} requests a second" if args.rate_limit else ""
    print(
        f"\nTriggers in one event loop; sandbox latency {args.latency * 1000:.0f} ms, poll interval "
        f"{args.poll_interval:g} s, tasks end after about {args.polls:g} polls; {starts}{limits}; our "
        f"requests_per_second {args.requests_per_second:g}."
    )
    header = (
        f"{'N':>5}  {'trigger':<33} {'ok':>5} {'polls':>6} {'wall s':>6} {'wall/ideal':>10} {'lag p50/p99/max ms':>19} "
        f"{'GC max ms':>9} {'queued p99/max ms':>18} {'CPU ms/poll':>11} {'RSS KB/trig':>11} {'TCP conns':>9} "
        f"{'429s':>6}"
    )
    print(header)
    for row in rows:
        lag = f"{row['lag_p50_ms']:.1f}/{row['lag_p99_ms']:.1f}/{row['lag_max_ms']:.0f}"
        wait = f"{row['wait_p99_ms']:.0f}/{row['wait_max_ms']:.0f}"
        refused = f"{100 * row['rate_limited'] / max(row['api_requests'], 1):.1f}%"
        cpu_per_poll = f"{row['cpu_ms_per_poll']:.2f}" if row["polls"] else "-"
        print(
            f"{row['n']:>5}  {LABELS[row['kind']]:<33} {row['succeeded']:>5} {row['polls']:>6} {row['wall_s']:>6.1f} "
            f"{row['wall_s'] / row['ideal_s']:>10.2f} {lag:>19} {row['gc_max_ms']:>9.0f} {wait:>18} "
            f"{cpu_per_poll:>11} "
            f"{row['rss_kb_per_trigger']:>11.1f} {row['connections']:>9} {refused:>6}"
        )
    baselines = BASELINES[args.mode]
    print(f"\nRatios, KlingTaskTrigger / each baseline ({', '.join(LABELS[kind] for kind in baselines)}), same N:")
    by_key = {(row["n"], row["kind"]): row for row in rows}
    for count in args.n:
        ours = by_key.get((count, "kling"))
        if ours is None:
            continue
        for kind in baselines:
            other = by_key.get((count, kind))
            if other is None:
                continue
            if args.mode == "spread":
                cpu = ours["cpu_ms_per_poll"] / other["cpu_ms_per_poll"]
                print(
                    f"  N={count:<5} vs {LABELS[kind]:<22} CPU per poll {cpu:.2f}x, "
                    f"p99 loop lag {ours['lag_p99_ms'] / max(other['lag_p99_ms'], 0.001):.2f}x, "
                    f"connections {ours['connections'] / max(other['connections'], 1):.3f}x, "
                    f"RSS per trigger {ours['rss_kb_per_trigger'] / max(other['rss_kb_per_trigger'], 0.001):.2f}x"
                )
            else:
                print(
                    f"  N={count:<5} vs {LABELS[kind]:<33} wall {ours['wall_s'] / other['wall_s']:.2f}x, "
                    f"p99 loop lag {ours['lag_p99_ms'] / max(other['lag_p99_ms'], 0.001):.2f}x, "
                    f"longest stall {ours['lag_max_ms'] / max(other['lag_max_ms'], 0.001):.2f}x, "
                    f"succeeded {ours['succeeded']} vs {other['succeeded']}, "
                    f"429s {ours['rate_limited']} vs {other['rate_limited']}"
                )


if __name__ == "__main__":
    main_or_worker(main, worker)
