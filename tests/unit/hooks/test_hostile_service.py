"""Every answer is untrusted: a hostile or broken service on loopback, and the safe outcome for each thing it tries.

The server here answers whatever each test tells it to (``hostile.behaviour``), on 127.0.0.1, and stops with the
test. Where a test needs a whole generation, the server plays a small service: submit, query, video.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any

import pytest
from conftest import SECRET_KEY
from support.airflow_lines import extra_link, load_dags

from airflow_provider_kling.contract import parse_response, parse_task, task_videos
from airflow_provider_kling.exceptions import (
    KlingError,
    KlingPermanentError,
    KlingTransientError,
    KlingUnexpectedAnswerError,
    KlingValidationError,
    KlingWaitTimeoutError,
)
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.netguard import MAX_REDIRECTS
from airflow_provider_kling.sensors.kling import KlingTaskSensor
from airflow_provider_kling.triggers.kling import KlingTaskTrigger

MP4 = files("airflow_provider_kling.sandbox").joinpath("sample.mp4").read_bytes()
ROUTE = "/kling/v1/videos/text2video"


class Hostile(ThreadingHTTPServer):
    """A server on loopback that answers as ``behaviour(handler)`` says and notes every request."""

    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.behaviour: Callable[[Any], None] = lambda handler: send_json(handler, 404, {"code": 1203})
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets the connection (the hook giving up) is routine here; anything else is shown.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    def paths(self, method: str | None = None) -> list[str]:
        return [path for seen, path, _ in self.requests if method in (None, seen)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        try:
            self.server.behaviour(self)
        except OSError:  # the client gave up: routine for a hostile server
            self.close_connection = True

    do_GET = do_POST = _serve


def send_raw(handler: Any, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def send_json(handler: Any, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    send_raw(handler, status, json.dumps(payload).encode(), headers)


def task(task_id: Any = "880001", status: Any = "succeed", videos: Any = None) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "SUCCEED",
        "data": {"task_id": task_id, "task_status": status, "task_result": {"videos": videos or []}},
    }


@pytest.fixture
def hostile(monkeypatch) -> Iterator[Hostile]:
    server = Hostile()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    extra = {"retry_delay": 0.01, "retry_limit": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": server.url, "password": SECRET_KEY, "extra": extra}),
    )
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def first_event(trigger: KlingTaskTrigger, within: float) -> tuple[list[Any], float]:
    """Run a trigger as the triggerer would; return every event it yielded and how long it took."""

    async def collect() -> list[Any]:
        return [event async for event in trigger.run()]

    started = time.monotonic()
    events = asyncio.run(asyncio.wait_for(collect(), within))
    return events, time.monotonic() - started


# 1. Ids from the service go into paths, file names and logs: only letters, digits, "_" and "-" get in.
@pytest.mark.parametrize("task_id", ["../../escape", "../../../../../../tmp/x", "sub/dir/x", "x" * 300, "", 12.5, None])
def test_a_task_id_that_could_be_a_path_is_refused(hostile, tmp_path, task_id):
    hostile.behaviour = lambda handler: send_json(handler, 200, task(task_id, "submitted"))
    with pytest.raises(KlingUnexpectedAnswerError, match="no usable task id"):
        KlingHook().create_text2video("a cat")
    with pytest.raises(KlingUnexpectedAnswerError, match="no usable task id"):
        KlingHook().get_task("1")
    assert list(tmp_path.parent.glob("*escape*")) == []


def test_an_integer_task_id_is_read_as_its_digits(hostile):
    hostile.behaviour = lambda handler: send_json(handler, 200, task(1795645159115285, "submitted"))
    assert KlingHook().create_text2video("a cat")["task_id"] == "1795645159115285"


# 2. and 10. The key: stripped, checked, and masked in every form an echoing service could show it in.
def test_a_key_with_a_trailing_newline_is_sent_stripped_and_never_shown(hostile, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps(
            {"conn_type": "kling", "host": hostile.url, "password": f"{SECRET_KEY}\n", "extra": {"retry_limit": 0}}
        ),
    )

    def echo(handler: Any) -> None:
        header = handler.headers["Authorization"]
        padding = "x" * (200 - len("Kling error: ") - 10)  # the key straddles the 200-character excerpt
        send_json(
            handler,
            500,
            {"code": 5000, "message": f"{padding}{header} {header!r}", "request_id": header},
        )

    hostile.behaviour = echo
    with pytest.raises(KlingTransientError) as raised:
        KlingHook().get_task("1")
    assert hostile.requests[0][2]["Authorization"] == f"Bearer {SECRET_KEY}"
    relay = {"error": {"code": f"Bearer {SECRET_KEY}", "message": f"Bearer {SECRET_KEY}", "type": "comet_api_error"}}
    hostile.behaviour = lambda handler: send_raw(
        handler, 502, b"<html>" + b"y" * 190 + SECRET_KEY.encode() + b"</html>"
    )
    with pytest.raises(KlingTransientError) as html:
        KlingHook().get_task("1")
    hostile.behaviour = lambda handler: send_json(handler, 429, relay)
    with pytest.raises(KlingTransientError) as echoed_code:
        KlingHook().get_task("1")
    texts = [str(error) + repr(error.args) for error in (raised.value, html.value, echoed_code.value)]
    everything = "\n".join([*texts, caplog.text, *capfd.readouterr()])
    assert "TEST-SECRET" not in everything
    assert "***" in texts[0] and "***" in texts[2]


def test_a_key_with_a_line_break_inside_is_refused_without_showing_it(hostile, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "password": "sk-kling-TEST-SECRET\nX-Evil: 1"}),
    )
    with pytest.raises(KlingValidationError, match="password") as raised:
        KlingHook().get_task("1")
    assert "TEST-SECRET" not in str(raised.value)
    assert hostile.requests == []


# 3. A status outside the closed set is never "ended", and a success must name a video.
ODD_STATUSES = ["queued", None, 0, "SUCCEED", ["succeed"], {"status": "succeed"}]


@pytest.mark.parametrize("status", ODD_STATUSES)
def test_an_unknown_status_is_waited_on_never_taken_as_success(hostile, status):
    answer = task("880001", status, [{"url": f"{hostile.url}/v.mp4"}])
    if status is None:
        del answer["data"]["task_status"]
    hostile.behaviour = lambda handler: send_json(handler, 200, answer)
    events, _ = first_event(KlingTaskTrigger("880001", deadline=time.time() + 0.6, poll_interval=0.1), within=10)
    assert [event.payload["status"] for event in events] == ["timeout"]
    with pytest.raises(KlingWaitTimeoutError, match="did not end within the timeout"):
        KlingHook().wait_for_task("880001", poll_interval=0.1, timeout=0.5)
    assert KlingTaskSensor(task_id="sense", kling_task_id="880001").poke({}).is_done is False


def test_a_success_without_a_video_is_an_error_not_a_result(hostile):
    hostile.behaviour = lambda handler: send_json(handler, 200, task("880001", "succeed", [{"url": "javascript:x"}]))
    events, _ = first_event(KlingTaskTrigger("880001", deadline=time.time() + 5, poll_interval=0.1), within=10)
    assert [(event.payload["status"], event.payload["retryable"]) for event in events] == [("error", True)]
    assert "names no video or audio URL" in events[0].payload["message"]


# 4. One deadline bounds everything a wait does: requests, the hook's retries and Retry-After pauses.
def test_a_retry_after_longer_than_the_deadline_does_not_hold_the_trigger(hostile, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "password": SECRET_KEY, "extra": {"retry_limit": 5}}),
    )
    hostile.behaviour = lambda handler: send_json(handler, 429, {"code": 1303, "message": "busy"}, {"Retry-After": "4"})
    events, took = first_event(KlingTaskTrigger("880001", deadline=time.time() + 1, poll_interval=0.1), within=30)
    assert [event.payload["status"] for event in events] == ["timeout"]
    assert took < 2


def _drip(
    handler: Any, body: bytes = b'{"code": 0, "data": {}}' + b" " * 80, content_type: str = "application/json"
) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.5)


def test_a_server_that_drips_cannot_hold_the_trigger_past_its_deadline(hostile):
    hostile.behaviour = _drip
    events, took = first_event(KlingTaskTrigger("880001", deadline=time.time() + 2, poll_interval=0.1), within=30)
    assert [event.payload["status"] for event in events] == ["timeout"]
    assert took < 3.5


def test_a_dripping_download_ends_within_its_timeout(hostile, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps(
            {
                "conn_type": "kling",
                "host": hostile.url,
                "password": SECRET_KEY,
                "extra": {"timeout": 2, "retry_limit": 0},
            }
        ),
    )
    hostile.behaviour = lambda handler: _drip(handler, MP4[:200], "video/mp4")
    started = time.monotonic()
    with pytest.raises(KlingTransientError, match="did not arrive in time"):
        KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert time.monotonic() - started < 4
    assert list(tmp_path.iterdir()) == []


# 5. One retry budget per call: a lookup inside a submission does not retry on its own.
@pytest.mark.parametrize(("backend", "most"), [("cometapi", 6), ("kling", 12)])
def test_a_submission_against_5xx_spends_one_budget(hostile, monkeypatch, backend, most):
    extra = {"retry_limit": 5, "retry_delay": 0, "backend": backend}
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "login": "ak", "password": SECRET_KEY, "extra": extra}),
    )
    hostile.behaviour = lambda handler: send_raw(handler, 502, b"<html>502 Bad Gateway</html>")
    with pytest.raises(KlingTransientError):
        KlingHook().create_text2video("a cat", external_task_id="budget-1")
    assert len(hostile.paths("POST")) == 6
    assert len(hostile.requests) == most


# 6. Sizes are capped: API answers, error bodies, videos.
def _huge(handler: Any, status: int = 200, content_type: str = "application/json") -> None:
    size = 300 << 20
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    chunk = b'{"data": [' + b"1," * (1 << 19)
    for _ in range(size // len(chunk)):
        handler.wfile.write(chunk)


def test_a_huge_api_answer_is_refused_after_a_mebibyte(hostile):
    hostile.behaviour = _huge
    with pytest.raises(KlingUnexpectedAnswerError, match="larger than 1048576 bytes"):
        KlingHook().get_task("1")
    events, _ = first_event(KlingTaskTrigger("880001", deadline=time.time() + 10, poll_interval=0.1), within=30)
    assert [event.payload["status"] for event in events] == ["error"]


def test_a_huge_error_body_from_the_video_host_is_not_read_whole(hostile, tmp_path):
    hostile.behaviour = lambda handler: _huge(handler, 500, "text/html")
    with pytest.raises(KlingTransientError, match="HTTP 500") as raised:
        KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert len(str(raised.value)) < 400
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("text/plain", MP4, "is text/plain, not a video"),
        ("video/mp4", b"<html>" + b"x" * 5000, "is not an MP4 video"),
        ("application/json", b"{}" * 100, "not a video"),
    ],
)
def test_what_is_not_a_video_is_not_stored(hostile, tmp_path, content_type, body, text):
    hostile.behaviour = lambda handler: send_raw(handler, 200, body, {"Content-Type": content_type})
    with pytest.raises(KlingUnexpectedAnswerError, match=text):
        KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert list(tmp_path.iterdir()) == []


def test_a_video_over_the_connections_limit_is_not_stored(hostile, monkeypatch, tmp_path):
    extra = {"max_video_bytes": 1000, "retry_limit": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "password": SECRET_KEY, "extra": extra}),
    )
    hostile.behaviour = lambda handler: send_raw(handler, 200, MP4, {"Content-Type": "video/mp4"})
    with pytest.raises(KlingUnexpectedAnswerError, match="max_video_bytes"):
        KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert list(tmp_path.iterdir()) == []


# 7. A service answer must not make the worker fetch from its own network.
def _private_only(host: str) -> bool:
    """Loopback stands in for two networks here: 127.0.0.1 plays a public host, localhost a private one."""
    return host != "127.0.0.1"


def test_a_video_on_a_private_host_is_not_fetched_unless_allowed(hostile, monkeypatch, tmp_path):
    extra = {"allow_private_video_hosts": False, "retry_limit": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "password": SECRET_KEY, "extra": extra}),
    )
    port = hostile.server_address[1]
    with pytest.raises(KlingValidationError, match="private address"):
        KlingHook().download_video(f"http://localhost:{port}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert hostile.requests == []

    import airflow_provider_kling.netguard as netguard

    monkeypatch.setattr(netguard, "is_private_host", _private_only)
    for target in (f"http://localhost:{port}/secret", "file:///etc/passwd"):
        hostile.behaviour = lambda handler, target=target: send_raw(handler, 302, b"", {"Location": target})
        with pytest.raises(KlingValidationError, match="url"):
            KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{tmp_path / 'v.mp4'}")
    assert hostile.paths() == ["/v.mp4", "/v.mp4"]
    assert list(tmp_path.iterdir()) == []


# 8. Malformed answers: never a crash, never a half-stored file.
@pytest.mark.parametrize(
    ("body", "error_class"),
    [
        (b"[" * 100_000, KlingTransientError),
        (b'{"code": 0, "data": null}', KlingUnexpectedAnswerError),
        (b'{"code": 0, "data": [1, 2]}', KlingUnexpectedAnswerError),
        (b'{"code": 0, "data": "880001"}', KlingUnexpectedAnswerError),
    ],
)
def test_a_malformed_answer_is_a_clear_error(hostile, body, error_class):
    hostile.behaviour = lambda handler: send_raw(handler, 200, body)
    with pytest.raises(error_class):
        KlingHook().get_task("1")


def test_odd_but_honest_video_answers_are_stored(hostile, tmp_path):
    served = {
        "/plain.mp4": (MP4, {"Content-Type": "video/mp4", "Content-Length": "abc"}),
        "/gzip.mp4": (gzip.compress(MP4), {"Content-Type": "video/mp4", "Content-Encoding": "gzip"}),
    }

    def serve(handler: Any) -> None:
        body, headers = served[handler.path]
        handler.send_response(200)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    hostile.behaviour = serve
    for name in served:
        destination = tmp_path / name.strip("/")
        assert KlingHook().download_video(f"{hostile.url}{name}", f"file://{destination}") == len(MP4)
        assert destination.read_bytes() == MP4


# 8. and 11. A whole generation against a service whose result holds junk beside the video.
def test_only_real_videos_are_stored_and_linked_and_only_after_success(hostile, airflow_db):
    from conftest import AIRFLOW_HOME, REPO
    from support.airflow_lines import run, xcom

    videos = [{"id": "no-url"}, {"url": "javascript:alert(1)"}, {"url": 7}, {"url": f"{hostile.url}/v.mp4"}]

    def service(handler: Any) -> None:
        if handler.command == "POST":
            return send_json(handler, 200, task("880042", "submitted"))
        if handler.path == "/v.mp4":
            return send_raw(handler, 200, MP4, {"Content-Type": "video/mp4"})
        return send_json(handler, 200, task("880042", "succeed", videos))

    hostile.behaviour = service
    examples = load_dags(str(REPO / "example_dags"))
    dag_run, _ = run(examples, "kling_quickstart")
    assert dag_run.state == "success"
    result = xcom(dag_run, "generate")
    stored = [video["stored_path"] for video in result["task_result"]["videos"]]
    assert stored == [f"file://{AIRFLOW_HOME / 'videos' / '880042_0.mp4'}"]
    assert extra_link(examples.dags["kling_quickstart"], dag_run, "generate") == f"{hostile.url}/v.mp4"


def test_a_failed_download_leaves_no_link(hostile, airflow_db):
    from conftest import REPO
    from support.airflow_lines import run

    def service(handler: Any) -> None:
        if handler.command == "POST":
            return send_json(handler, 200, task("880043", "submitted"))
        if handler.path == "/v.mp4":
            return send_raw(handler, 404, b"gone")
        return send_json(handler, 200, task("880043", "succeed", [{"url": f"{hostile.url}/v.mp4"}]))

    hostile.behaviour = service
    examples = load_dags(str(REPO / "example_dags"))
    dag_run, tis = run(examples, "kling_quickstart")
    assert tis["generate", -1].state == "failed"
    assert not extra_link(examples.dags["kling_quickstart"], dag_run, "generate")


def test_task_videos_keeps_only_items_with_an_http_url():
    answer = task("1", "succeed", [{"url": "https://cdn/v.mp4"}, {"url": "file:///etc/passwd"}, "x", {"id": 1}])
    parsed = parse_task(parse_response(200, {}, json.dumps(answer).encode()))
    assert task_videos(parsed) == [{"url": "https://cdn/v.mp4"}]


def test_errors_never_escape_as_anything_but_kling_errors(hostile):
    for body in (b"", b"null", b"{}", b'{"code": "weird"}', b'{"error": "flat"}', b'{"code": 0}'):
        hostile.behaviour = lambda handler, body=body: send_raw(handler, 200, body)
        with pytest.raises(KlingError):
            KlingHook().get_task("1")


# 12. The download's edges: redirect chains up to their limit, every error status the video host may answer,
# content types with parameters, the smallest MP4, a first box split across reads, folders not yet made.
#: The smallest answer that is an MP4's start: one 8-byte ``ftyp`` box header.
SMALLEST_MP4 = b"\x00\x00\x00\x08ftyp"


def _store(server, tmp_path, name: str = "v.mp4") -> int:
    return KlingHook().download_video(f"{server.url}/{name}", f"file://{tmp_path / name}")


def _redirects(hops: int):
    """Redirect /v.mp4 through ``hops`` relative locations, then serve the video."""

    def serve(handler: Any) -> None:
        seen = int(handler.path.rpartition("hop-")[2] or 0) if "hop-" in handler.path else 0
        if seen < hops:
            send_raw(handler, 302, b"", {"Location": f"hop-{seen + 1}"})
        else:
            send_raw(handler, 200, MP4, {"Content-Type": "video/mp4"})

    return serve


def test_a_chain_of_as_many_redirects_as_allowed_is_followed_asking_for_no_compression(hostile, tmp_path):
    hostile.behaviour = _redirects(MAX_REDIRECTS)
    assert _store(hostile, tmp_path) == len(MP4)
    assert hostile.paths() == ["/v.mp4", *(f"/hop-{hop}" for hop in range(1, MAX_REDIRECTS + 1))]
    assert {headers["Accept-Encoding"] for _, _, headers in hostile.requests} == {"identity"}


def test_one_redirect_more_than_allowed_is_refused_saying_so(hostile, tmp_path):
    hostile.behaviour = _redirects(MAX_REDIRECTS + 1)
    with pytest.raises(KlingUnexpectedAnswerError) as raised:
        _store(hostile, tmp_path)
    assert str(raised.value) == f"Download of {hostile.url}/v.mp4 was redirected more than {MAX_REDIRECTS} times"
    assert len(hostile.requests) == MAX_REDIRECTS + 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (408, KlingTransientError),
        (425, KlingTransientError),
        (429, KlingTransientError),
        (500, KlingTransientError),
        (404, KlingPermanentError),
        (409, KlingPermanentError),
        (426, KlingPermanentError),
        (430, KlingPermanentError),
    ],
)
def test_the_video_hosts_error_says_its_status_and_body_and_whether_a_retry_helps(
    hostile, tmp_path, status, error_class
):
    hostile.behaviour = lambda handler: send_raw(handler, status, b"gone fishing", {"Content-Type": "text/plain"})
    with pytest.raises(KlingError) as raised:
        _store(hostile, tmp_path)
    assert type(raised.value) is error_class and raised.value.status == status
    assert str(raised.value).startswith(f"Download of {hostile.url}/v.mp4 failed: HTTP {status}: 'gone fishing'")


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "application/xml", "application/javascript", "APPLICATION/JSON"]
)
def test_text_is_refused_whatever_its_parameters_or_case(hostile, tmp_path, content_type):
    hostile.behaviour = lambda handler: send_raw(handler, 200, MP4, {"Content-Type": content_type})
    with pytest.raises(KlingUnexpectedAnswerError, match="not a video"):
        _store(hostile, tmp_path)


def test_a_video_type_with_parameters_is_stored(hostile, tmp_path):
    hostile.behaviour = lambda handler: send_raw(handler, 200, MP4, {"Content-Type": "video/mp4; codecs=avc1"})
    assert _store(hostile, tmp_path) == len(MP4)


def test_the_smallest_mp4_start_is_stored_and_one_byte_less_is_not(hostile, tmp_path):
    hostile.behaviour = lambda handler: send_raw(handler, 200, SMALLEST_MP4, {"Content-Type": "video/mp4"})
    assert _store(hostile, tmp_path) == 8
    hostile.behaviour = lambda handler: send_raw(handler, 200, SMALLEST_MP4[:7], {"Content-Type": "video/mp4"})
    with pytest.raises(KlingTransientError, match="got 7 bytes"):
        _store(hostile, tmp_path, "short.mp4")


def test_a_first_box_split_across_reads_is_read_whole(hostile, tmp_path):
    def serve(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(len(MP4)))
        handler.end_headers()
        handler.wfile.write(MP4[:3])
        handler.wfile.flush()
        time.sleep(0.2)  # the client reads the first 3 bytes on their own
        handler.wfile.write(MP4[3:])

    hostile.behaviour = serve
    assert _store(hostile, tmp_path) == len(MP4)
    assert (tmp_path / "v.mp4").read_bytes() == MP4


def test_a_video_as_large_as_the_connections_limit_is_stored(hostile, monkeypatch, tmp_path):
    extra = {"max_video_bytes": len(MP4), "retry_limit": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_KLING_DEFAULT",
        json.dumps({"conn_type": "kling", "host": hostile.url, "password": SECRET_KEY, "extra": extra}),
    )
    hostile.behaviour = lambda handler: send_raw(handler, 200, MP4, {"Content-Type": "video/mp4"})
    assert _store(hostile, tmp_path) == len(MP4)


def test_folders_not_yet_made_are_made_and_the_stored_video_is_logged(hostile, tmp_path, caplog, capfd):
    hostile.behaviour = lambda handler: send_raw(handler, 200, MP4, {"Content-Type": "video/mp4"})
    destination = tmp_path / "2026" / "11" / "v.mp4"
    assert KlingHook().download_video(f"{hostile.url}/v.mp4", f"file://{destination}") == len(MP4)
    assert destination.read_bytes() == MP4
    logged = caplog.text + capfd.readouterr().out
    assert f"Stored {hostile.url}/v.mp4 ({len(MP4)} bytes) at file://{destination}" in logged


def test_a_transfer_cut_short_names_the_error(hostile, tmp_path):
    def serve(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"10\r\n" + MP4[:16] + b"\r\nzz")  # a broken chunk, then the end
        handler.close_connection = True

    hostile.behaviour = serve
    with pytest.raises(KlingTransientError) as raised:
        _store(hostile, tmp_path)
    assert re.match(rf"Download of {hostile.url}/v.mp4 failed: \w+(Error|Exception): \S", str(raised.value))
    assert list(tmp_path.iterdir()) == []
