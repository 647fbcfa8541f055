r"""A local stand-in for Kling text-to-video, for tests and offline DAG development, in two profiles.

``cometapi`` (the default) plays CometAPI's gateway as the evidence shows it and nothing more:
paths under ``/kling``, a Bearer key (refused in the relay's ``{"error": {...}}`` envelope), tasks
looked up by ``task_id`` only (an unknown one is HTTP 400 ``task_not_exist``), Kling's errors
wrapped as ``fail_to_fetch_task``, an HTML page with HTTP 200 for any path it does not route (a
list, a query string, a wrong base URL), and ``external_task_id`` passed on but never checked for
duplicates. ``kling`` plays Kling's own API: paths without ``/kling``, a JWT signed with the
secret key, lookups by ``task_id`` or ``external_task_id``, the list route, duplicate
``external_task_id``\ s refused (400/1201) and Kling's error envelope. Both move tasks
``submitted`` -> ``processing`` -> ``succeed``/``failed`` over a render time, POST callbacks, and
serve a small, real MP4 as the result. Requests are validated by the same code as the hook's (the listed models only).

A prompt containing ``sandbox:fail`` renders to a ``failed`` task. Faults (error answers, delays,
lost answers) can be queued with :meth:`KlingSandbox.inject` or ``POST /_sandbox/faults``, or
drawn at random for a share of requests (``chaos_rate``, ``POST /_sandbox/chaos``); ``rate_limit``
(``POST /_sandbox/rate_limit``) answers 429 beyond a number of requests a second; ``concurrency``
(``POST /_sandbox/concurrency``) plays the account's limit on tasks rendering at once, refusing a submission
beyond it with HTTP 429 and code 1303, as Kling does (wrapped by the relay on ``cometapi``).
``GET /_sandbox/stats`` counts requests, faults (``rate_limited`` among them), connections opened, the most
requests answered at once, submissions refused for the account's concurrency and the most tasks rendering at
once; ``GET /_sandbox/ended/<task id>`` answers 404 until the task ends, for generic HTTP sensors (the benchmarks
compare one).
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import random
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from airflow_provider_kling.contract import (
    ACCOUNT_BUSY_CODE,
    ACTIVE_STATUSES,
    BACKENDS,
    ENDPOINTS,
    FAILED,
    SESSION_SECONDS,
    SUCCEEDED,
    TEXT2VIDEO,
    Endpoint,
    build_request,
    check_media_url,
    check_selections,
    split_request_fields,
)
from airflow_provider_kling.contract.lip_sync import FACE_OVERLAP_MIN_MS
from airflow_provider_kling.contract.multi_elements import INPUT_SECONDS, MARKED_EDITS, MAX_MARKED_FRAMES
from airflow_provider_kling.exceptions import KlingValidationError

log = logging.getLogger(__name__)

FAIL_MARKER = "sandbox:fail"
FAIL_MESSAGE = "Sandbox: the prompt asked this task to fail"
#: Kling's message for a submission over the account's concurrency.
ACCOUNT_BUSY_MESSAGE = "parallel task over resource pack limit"
VIDEO_PATH = "/sandbox/videos/"
#: What an audio result's URL serves: an ID3v2 tag and MPEG audio frame headers.
AUDIO_SAMPLE = b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + bytes(413)) * 8
CONTROL_PATH = "/_sandbox/"
PROFILES = ("cometapi", "kling")
#: What CometAPI's relay answers, with HTTP 200, on a path it does not route: its web UI.
RELAY_HTML = b"<!doctype html><html><head><title>CometAPI</title></head><body><div id='root'></div></body></html>"


@dataclass
class Fault:
    """
    One queued misbehaviour, served to the next ``count`` API requests it matches.

    :param status: HTTP status to answer with (ignored for ``drop``).
    :param code: Kling error code for the JSON envelope; None with ``body`` unset sends CometAPI's.
    :param message: the error message.
    :param retry_after: value of a ``Retry-After`` header to send, if any.
    :param body: a raw body to send instead of JSON (HTML from a proxy, malformed JSON...).
    :param delay: seconds to wait before answering (or before handling, for ``drop``).
    :param drop: handle the request for real, then close the connection without an answer (a lost answer).
    :param reset: close the connection without handling the request or answering.
    :param method: only match this HTTP method (``POST`` or ``GET``); None matches both.
    :param count: how many requests this fault is served to.
    :param target: ``api`` for the Kling API, ``video`` for result video downloads (where
        ``drop`` sends half the announced bytes, then closes).
    :param path: only match requests whose path ends with this (``/advanced-lip-sync``); None matches every path.
    """

    status: int = 500
    code: int | None = 5000
    message: str = "sandbox fault"
    retry_after: str | None = None
    body: str | None = None
    delay: float = 0.0
    drop: bool = False
    reset: bool = False
    method: str | None = None
    count: int = 1
    target: str = "api"
    path: str | None = None

    @property
    def kind(self) -> str:
        """A short name for counting: ``drop``, ``reset``, ``delay`` or the status and code."""
        if self.drop:
            return "drop"
        if self.reset:
            return "reset"
        if self.delay and not self.status:
            return "delay"
        return f"{self.status}/{self.code}" if self.body is None else f"{self.status}/raw"


#: The faults that chaos mode draws from: every kind of trouble a client must survive.
CHAOS_FAULTS = (
    Fault(status=429, code=1302, message="requests too fast", retry_after="0"),
    Fault(status=429, code=1303, message="concurrency over the account limit"),
    Fault(status=500, code=5000, message="server error"),
    Fault(status=502, body="<html><body><h1>502 Bad Gateway</h1></body></html>"),
    Fault(status=503, code=5001, message="temporarily unavailable"),
    Fault(status=504, code=5002, message="server timeout"),
    Fault(status=524, code=None, message="origin timed out"),
    Fault(status=200, body='{"code": 0, "data": '),
    Fault(drop=True),
    Fault(reset=True),
    Fault(status=0, delay=0.5),
)


@dataclass
class SandboxSession:
    """One editing session of a video: the endpoint it is for, the video's length and the frames marked on it."""

    session_id: str
    endpoint: str
    seconds: float
    #: What opened it: the ``video_id`` or ``video_url`` sent.
    video: dict[str, str]
    opened: float = field(default_factory=time.monotonic)
    marked: dict[int, list[Any]] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """How many frames the video has, at the 24 fps the sandbox reads every video at."""
        return int(self.seconds * 24)


class AccountBusy(Exception):
    """A submission beyond the account's concurrency: Kling refuses it with HTTP 429 and code 1303."""


@dataclass
class SandboxTask:
    """One generation in the sandbox; its status follows from the time since it was submitted."""

    task_id: str
    body: dict[str, Any]
    endpoint: str
    created_ms: int
    render_seconds: float
    fails: bool
    started: float = field(default_factory=time.monotonic)
    notified: str = ""
    #: What the task is charged (``final_unit_deduction``) once it succeeds; None: not reported.
    units: str | None = "1"

    @property
    def ends(self) -> float:
        """When the render ends (``time.monotonic()``): the account's slot is held until then."""
        return self.started + self.render_seconds

    def status(self) -> str:
        """The task's status now."""
        elapsed = time.monotonic() - self.started
        if elapsed >= self.render_seconds:
            return FAILED if self.fails else SUCCEEDED
        return "submitted" if elapsed < self.render_seconds / 4 else "processing"

    def _watermark(self, base_url: str) -> dict[str, str]:
        """A watermarked copy beside the video, when the request asked for one (Kling's ``watermark_url``)."""
        if self.body.get("watermark_info", {}).get("enabled"):
            return {"watermark_url": f"{base_url}{VIDEO_PATH}{self.task_id}.mp4?watermark=1"}
        return {}

    def as_json(self, base_url: str) -> dict[str, Any]:
        """The task object as Kling's query answers it."""
        status = self.status()
        task: dict[str, Any] = {
            "task_id": self.task_id,
            "task_status": status,
            "task_status_msg": FAIL_MESSAGE if status == FAILED else "",
            "task_info": {"external_task_id": self.body["external_task_id"]} if "external_task_id" in self.body else {},
            "created_at": self.created_ms,
            "updated_at": self.created_ms + (int(self.render_seconds * 1000) if status in (SUCCEEDED, FAILED) else 0),
            "task_result": {},
        }
        if status == SUCCEEDED:
            video = {
                "id": f"{self.task_id}-0",
                "url": f"{base_url}{VIDEO_PATH}{self.task_id}.mp4",
                "duration": {**self.body, **self.body.get("input", {})}.get("duration", "5"),
                **self._watermark(base_url),
            }
            task["task_result"] = {"videos": [video]}
            if ENDPOINTS[self.endpoint].family == "audio":
                # Kling's answer: the audio as MP3 and WAV; video-to-audio also gives the video with its sound.
                seconds = str(self.body.get("duration", "5"))
                audio = {"id": f"{self.task_id}-a0", "url_mp3": f"{base_url}{VIDEO_PATH}{self.task_id}.mp3"}
                audio.update(url_wav=f"{base_url}{VIDEO_PATH}{self.task_id}.wav", duration_mp3=seconds)
                task["task_result"] = {
                    "audios": [audio],
                    "videos": [video] if self.endpoint == "video-to-audio" else [],
                }
            if self.units is not None:
                task["final_unit_deduction"] = self.units
        return task


class KlingSandbox:
    """
    The sandbox server. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    :param api_key: the only Bearer key accepted.
    :param render_seconds: how long each task takes to end.
    :param render_spread: each task renders for ``render_seconds`` plus a share of this, drawn uniformly (seeded
        by ``seed``), as real renders vary.
    :param host: address to bind; loopback by default.
    :param port: port to bind; 0 picks a free one.
    :param latency: seconds added to every API answer.
    :param video_bytes: size of each result video; the sample MP4 is padded with a ``free`` box
        (still a valid MP4) and streamed, so any size costs no memory.
    :param chaos_rate: share of API requests (0 to 1) that get a fault drawn from :data:`CHAOS_FAULTS`
        when none is queued.
    :param seed: seed of the chaos draws, so a run can be repeated.
    :param profile: ``cometapi`` (CometAPI's gateway) or ``kling`` (Kling's own API); see the module.
    :param access_key: the access key that Kling's own API expects as the JWT's issuer (``kling`` only);
        ``api_key`` is then the secret key the JWT is signed with.
    :param rate_limit: API requests a second the key may send (0: no limit); beyond it, HTTP 429 in the
        relay's envelope (``cometapi``) or with code 1302 (``kling``), after the latency, as a token bucket
        holding one second's worth.
    :param concurrency: how many tasks the account renders at once (0: no limit). A task holds a slot from its
        submission until it ends, failed ones too, whatever its endpoint; a submission beyond the limit is refused
        with HTTP 429 and code 1303 (wrapped as ``fail_to_fetch_task`` on ``cometapi``), creating nothing.
    :param units: what each succeeded task reports as charged (``final_unit_deduction``); None reports nothing.
    """

    def __init__(
        self,
        *,
        api_key: str = "sandbox-key",
        render_seconds: float = 2.0,
        render_spread: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        video_bytes: int | None = None,
        chaos_rate: float = 0.0,
        seed: int = 0,
        profile: str = "cometapi",
        access_key: str = "sandbox-access-key",
        rate_limit: float = 0.0,
        concurrency: int = 0,
        units: str | None = "1",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        if concurrency < 0:
            raise ValueError(f"concurrency must be a whole number of tasks from 0, not {concurrency!r}")
        self.api_key = api_key
        self.access_key = access_key
        self.profile = profile
        self.backend = BACKENDS[profile]
        #: The text-to-video route; every endpoint's route, by path.
        self.route = self.backend.path(TEXT2VIDEO.route)
        served = [endpoint for endpoint in ENDPOINTS.values() if profile in endpoint.backends]
        self.routes = {self.backend.path(endpoint.route): endpoint for endpoint in served}
        #: The editing sessions' calls (to open one, to mark a frame), by path: the endpoint and which call.
        self.session_routes = {
            self.backend.path(f"/v1/videos/{route}"): (endpoint, step)
            for endpoint in served
            if endpoint.session is not None
            for step, route in (("opens", endpoint.session.opens), ("marks", endpoint.session.marks))
            if route
        }
        self.chaos_rate = chaos_rate
        self._chaos = random.Random(seed)
        self.render_seconds = render_seconds
        self.render_spread = render_spread
        self._render_draws = random.Random(seed)
        self.latency = latency
        self.tasks: dict[str, SandboxTask] = {}
        self.sessions: dict[str, SandboxSession] = {}
        self.requests: list[tuple[str, str]] = []
        #: When each of :attr:`requests` arrived (``time.monotonic()``).
        self.request_times: list[float] = []
        self.rate_limit = rate_limit
        self.concurrency = concurrency
        self.units = units
        #: Submissions refused for the account's concurrency, and the most tasks rendering at once.
        self.refused_for_concurrency = 0
        self.most_rendering = 0
        self._rate_tokens: float | None = None  # None: a full bucket
        self._rate_checked = 0.0
        #: API requests being answered now, and the most at once since the last reset.
        self.in_flight = 0
        self.most_in_flight = 0
        self.submissions: list[Any] = []
        self.video_requests: list[dict[str, str]] = []
        #: How many API requests came with each ``User-Agent``.
        self.user_agents: Counter[str] = Counter()
        self.faults_served: Counter[str] = Counter()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(time.time_ns() // 1000)
        self._video = files(__package__).joinpath("sample.mp4").read_bytes()
        self.video_bytes = video_bytes or 0
        self.connections_opened = 0
        #: Client connections open now, and the most at once since the last reset.
        self.connections_open = 0
        self.most_connections_open = 0
        self._host = host
        self._server = _Server((host, port), _make_handler(self))
        self._stopping = threading.Event()
        self._callbacks: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="kling-sandbox", daemon=True),
            threading.Thread(target=self._watch_tasks, name="kling-sandbox-callbacks", daemon=True),
        ]

    @property
    def url(self) -> str:
        """The base URL to put in the connection's host."""
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def video_size(self) -> int:
        """The size each result video is served at: the sample's, or ``video_bytes`` if larger."""
        sample = len(self._video)
        return sample if self.video_bytes <= sample else max(self.video_bytes, sample + 8)

    def start(self) -> KlingSandbox:
        """Start serving in background threads."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> KlingSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(self, *faults: Fault) -> None:
        """Queue faults for the next matching API requests."""
        with self._lock:
            self._faults.extend(faults)

    def end_renders_in(self, seconds: float) -> None:
        """
        Make every task still rendering end ``seconds`` from now: a test that must see several waits under way at
        once renders for an hour, then lets them go, however long a busy machine took to get there.
        """
        now = time.monotonic()
        with self._lock:
            for task in self.tasks.values():
                if now - task.started < task.render_seconds:
                    task.render_seconds = now - task.started + seconds

    def reset(self) -> None:
        """Forget every task, request, fault and count."""
        with self._lock:
            self.tasks.clear()
            self.sessions.clear()
            self.requests.clear()
            self.request_times.clear()
            self._rate_tokens = None
            self.most_in_flight = 0
            self.refused_for_concurrency = 0
            self.most_rendering = 0
            self.submissions.clear()
            self.video_requests.clear()
            self.user_agents.clear()
            self.faults_served.clear()
            self._faults.clear()
            self.connections_opened = 0
            self.most_connections_open = self.connections_open

    def stats(self) -> dict[str, Any]:
        """Counts for tests and benchmarks: requests by method, tasks created, faults served."""
        with self._lock:
            return {
                "requests": dict(Counter(method for method, _ in self.requests)),
                "tasks_created": len(self.tasks),
                "faults_served": dict(self.faults_served),
                "faults_pending": sum(fault.count for fault in self._faults),
                "connections_opened": self.connections_opened,
                "most_in_flight": self.most_in_flight,
                "most_connections_open": self.most_connections_open,
                "refused_for_concurrency": self.refused_for_concurrency,
                "most_rendering": self.most_rendering,
            }

    def over_rate_limit(self) -> bool:
        """Whether an API request arriving now is beyond :attr:`rate_limit` (a token bucket of one second's worth)."""
        with self._lock:
            if not self.rate_limit:
                return False
            now = time.monotonic()
            refilled = (now - self._rate_checked) * self.rate_limit
            full = self.rate_limit
            tokens = full if self._rate_tokens is None else min(full, self._rate_tokens + refilled)
            self._rate_checked = now
            self._rate_tokens = tokens if tokens < 1 else tokens - 1
            if tokens < 1:
                self.faults_served["rate_limited"] += 1
            return tokens < 1

    def rate_limited(self) -> tuple[int, dict[str, Any]]:
        """The answer to a request beyond the rate limit: the relay's own 429, or Kling's 429 with code 1302."""
        if self.profile == "cometapi":
            return 429, _relay_error("", "too many requests: slow down")
        return 429, _error(1302, "requests too fast")

    def take_fault(self, method: str, target: str = "api", path: str = "") -> Fault | None:
        """Return the next queued fault for this method, target and path, counting it as served."""
        with self._lock:
            for fault in self._faults:
                if fault.target == target and fault.method in (None, method) and path.endswith(fault.path or ""):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    self.faults_served[fault.kind] += 1
                    return fault
            if target == "api" and self.chaos_rate and self._chaos.random() < self.chaos_rate:
                fault = self._chaos.choice(CHAOS_FAULTS)
                self.faults_served[fault.kind] += 1
                return fault
        return None

    def create_task(self, body: dict[str, Any], endpoint: Endpoint = TEXT2VIDEO) -> SandboxTask:
        """
        Validate and store a submitted task; raises KlingValidationError like the real service, and
        :class:`AccountBusy` when the account's :attr:`concurrency` is full.
        """
        # Fields the contract does not know are taken and ignored: Kling's answer to them is undocumented.
        known, extra = split_request_fields(body, endpoint)
        clean = build_request(endpoint, known, backend=self.backend, extra_fields=extra)
        inputs = {**clean, **clean.get("input", {})}  # effects and lip-sync send theirs in an input object
        with self._lock:
            if "video_id" in inputs:
                self._check_extension(inputs)
            if endpoint.session is not None:
                self._check_session(endpoint, known)
            external_id = clean.get("external_task_id")
            if (
                self.profile == "kling"
                and external_id
                and any(task.body.get("external_task_id") == external_id for task in self.tasks.values())
            ):
                raise KlingValidationError("external_task_id", f"{external_id!r} already exists: it must be unique")
            now = time.monotonic()
            rendering = sum(1 for task in self.tasks.values() if task.ends > now)
            if self.concurrency and rendering >= self.concurrency:
                self.refused_for_concurrency += 1
                raise AccountBusy(ACCOUNT_BUSY_MESSAGE)
            self.most_rendering = max(self.most_rendering, rendering + 1)
            task = SandboxTask(
                task_id=str(next(self._ids)),
                body=clean,
                endpoint=endpoint.name,
                created_ms=int(time.time() * 1000),
                render_seconds=self.render_seconds + self.render_spread * self._render_draws.random(),
                fails=FAIL_MARKER in json.dumps([inputs.get(name) for name in ("prompt", "multi_prompt", "text")]),
                started=now,
                units=self.units,
            )
            self.tasks[task.task_id] = task
        return task

    def _check_extension(self, body: dict[str, Any]) -> None:
        """Refuse an extension or lip-sync of a video no task made (or, named, not the task given as its parent)."""
        parent = next(
            (
                task
                for task in self.tasks.values()
                if task.status() == SUCCEEDED and body["video_id"] == f"{task.task_id}-0"
            ),
            None,
        )
        if parent is None:
            raise KlingValidationError("video_id", f"{body['video_id']!r} is no video of this account")
        if "task_id" in body and body["task_id"] != parent.task_id:
            raise KlingValidationError("task_id", f"{body['task_id']!r} did not make video {body['video_id']!r}")

    def edit_session(self, endpoint: Endpoint, step: str, body: Any) -> dict[str, Any]:
        """
        Answer a call of ``endpoint``'s editing session (``opens`` or ``marks``) as the service does; raises
        KlingValidationError on what it refuses.
        """
        if not isinstance(body, dict):
            raise KlingValidationError("body", "must be a JSON object")
        with self._lock:
            if step == "opens":
                return self._open_session(endpoint, body)
            session = self._live_session(body.get("session_id"), endpoint)
            frame = body.get("frame_index")
            if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < session.frames:
                raise KlingValidationError(
                    "frame_index", f"got {frame!r}; the video has frames 0 to {session.frames - 1}"
                )
            [mark] = check_selections([{"frame_index": frame, "points": body.get("points")}])
            if frame not in session.marked and len(session.marked) >= MAX_MARKED_FRAMES:
                raise KlingValidationError("frame_index", f"at most {MAX_MARKED_FRAMES} frames are marked per session")
            session.marked[frame] = mark["points"]
            mask = {"object_id": 0, "rle_mask": {"size": [720, 1280], "counts": "sandbox"}}
            return {
                "status": 0,
                "session_id": session.session_id,
                "res": {"frame_index": frame, "rle_mask_list": [mask]},
            }

    def _open_session(self, endpoint: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
        """
        Open a session for a video this account made (by id or URL), or any other video URL (read as 5 s): its
        length and frames (multi-elements), or the one face on it from start to end (advanced-lip-sync).
        """
        if [name for name in ("video_id", "video_url") if body.get(name)] == ["video_id"]:
            self._check_extension(body)
            made = self.tasks.get(body["video_id"].removesuffix("-0"))
        elif "video_id" not in body and "video_url" in body:
            path = urlsplit(check_media_url("video_url", body["video_url"])).path
            made = (
                self.tasks.get(path.removeprefix(VIDEO_PATH).removesuffix(".mp4"))
                if path.startswith(VIDEO_PATH)
                else None
            )
        else:
            raise KlingValidationError("video_id", "or video_url: exactly one of them is required")
        seconds = float({**made.body, **made.body.get("input", {})}.get("duration", "5")) if made else 5.0
        video_given: dict[str, str] = {name: body[name] for name in ("video_id", "video_url") if name in body}
        session = SandboxSession(str(next(self._ids)), endpoint.name, seconds, video_given)
        self.sessions[session.session_id] = session
        video = body.get("video_url") or f"{self.url}{VIDEO_PATH}{made.task_id if made else ''}.mp4"
        if endpoint.session is not None and not endpoint.session.marks:
            # Kling's face_data: each face's span, its end "longer than the actual ending time" by a few ms.
            face = {"face_id": "0", "face_image": video, "start_time": 0, "end_time": int(seconds * 1000) + 40}
            return {"session_id": session.session_id, "face_data": [face]}
        return {
            "status": 0,
            "session_id": session.session_id,
            "fps": 24.0,
            "original_duration": int(seconds * 1000),
            "width": 1280,
            "height": 720,
            "total_frame": session.frames,
            "normalized_video": video,
        }

    def _live_session(self, session_id: Any, endpoint: Endpoint) -> SandboxSession:
        session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None or session.endpoint != endpoint.name or time.monotonic() - session.opened > SESSION_SECONDS:
            raise KlingValidationError(
                "session_id", f"{session_id!r} is no open {endpoint.title} session of this account"
            )
        return session

    def _check_session(self, endpoint: Endpoint, fields: dict[str, Any]) -> None:
        """
        Refuse a task whose session is not open; an edit with no element marked to swap or remove, or whose video's
        length does not fit the duration; a lip-sync on a face the session has not, or whose sound overlaps it by
        less than 2 s.
        """
        session = self._live_session(fields["session_id"], endpoint)
        if "face_id" in fields:
            if fields["face_id"] != "0":
                raise KlingValidationError("face_id", f"{fields['face_id']!r} is no face of this session")
            start = fields["sound_insert_time"]
            overlap = min(session.seconds * 1000, start + fields["sound_end_time"] - fields["sound_start_time"]) - start
            if overlap < FACE_OVERLAP_MIN_MS:
                raise KlingValidationError("sound_insert_time", "the sound overlaps the face by less than 2 s")
            return
        if fields["edit_mode"] in MARKED_EDITS and not session.marked:
            raise KlingValidationError("session_id", f"has no element marked for {fields['edit_mode']!r}")
        low, high = INPUT_SECONDS[fields.get("duration", "5")]
        if not low <= session.seconds <= high:
            raise KlingValidationError(
                "duration", f"{fields.get('duration', '5')} s needs a video of {low:g} to {high:g} s"
            )

    def find(self, task_or_external_id: str, endpoint: Endpoint | None = None) -> SandboxTask | None:
        """Look a task up by task id, then (Kling's own API only) by external id; only ``endpoint``'s, if given."""
        with self._lock:
            task = self.tasks.get(task_or_external_id)
            if task is None and self.backend.lookup_by_external_task_id:
                task = next(
                    (t for t in self.tasks.values() if t.body.get("external_task_id") == task_or_external_id), None
                )
            return task if task is None or endpoint is None or task.endpoint == endpoint.name else None

    def kling_error(self, status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
        """Kling's error answer as this profile gives it: as is, or wrapped by the relay as ``fail_to_fetch_task``."""
        body = _error(code, message)
        if self.profile == "cometapi":
            return status, {"code": "fail_to_fetch_task", "message": json.dumps(body), "data": None}
        return status, body

    def refuse_auth(self, authorization: str | None) -> tuple[int, dict[str, Any]] | None:
        """The answer to a request whose credentials this profile refuses, or None to serve it."""
        token = authorization.removeprefix("Bearer ") if authorization and authorization.startswith("Bearer ") else None
        if self.profile == "cometapi":
            if token == self.api_key:
                return None
            text = "no token provided" if token is None else "invalid token"
            return 401, _relay_error("", f"{text} (request id: {uuid.uuid4().hex})")
        if token is None:
            return 401, _error(1001, "Authorization header is missing")
        import jwt

        try:
            claims = jwt.decode(
                token,
                self.api_key,
                algorithms=["HS256"],
                options={"require": ["iss", "exp", "nbf"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return 401, _error(1004, "Authorization has expired")
        except jwt.ImmatureSignatureError:
            return 401, _error(1003, "Authorization is not yet valid")
        except jwt.InvalidTokenError:
            return 401, _error(1002, "Authorization is invalid")
        if claims["iss"] != self.access_key:
            return 401, _error(1002, "Authorization is invalid")
        return None

    def _watch_tasks(self) -> None:
        while not self._stopping.wait(0.05):
            with self._lock:
                watched = [task for task in self.tasks.values() if "callback_url" in task.body]
            for task in watched:
                if task.status() != task.notified:
                    task.notified = task.status()
                    self._post_callback(task.body["callback_url"], task.as_json(self.url))

    def _post_callback(self, url: str, task: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(task).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except OSError as error:
            log.warning("Sandbox callback to %s failed: %s", url, error)


def _video_chunks(sample: bytes, total: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The sample MP4 followed by a ``free`` box padding it to ``total`` bytes, in chunks."""
    yield sample
    padding = total - len(sample)
    if padding >= 8:
        yield padding.to_bytes(4, "big") + b"free"
        padding -= 8
    zeros = bytes(min(chunk_bytes, padding))
    while padding > 0:
        yield zeros[:padding]
        padding -= len(zeros)


def _envelope(data: Any) -> dict[str, Any]:
    return {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}


def _error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": str(uuid.uuid4())}


def _relay_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": "comet_api_error"}}


class _Server(ThreadingHTTPServer):
    # Thousands of clients may connect at once (benchmarks): the default backlog of 5 drops them.
    request_queue_size = 1024
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops its connection (timeouts, chaos, closed sessions) is routine here.
        log.debug("sandbox: connection from %s ended abruptly", client_address, exc_info=True)


def _faults(body: Any) -> Callable[[KlingSandbox], None]:
    """What ``POST /_sandbox/faults`` does with its body: a list of :class:`Fault` fields (or one)."""
    names = [each.name for each in fields(Fault)]
    allowed = ", ".join(names)
    faults = []
    for item in body if isinstance(body, list) else [body]:
        if not isinstance(item, dict):
            raise ValueError(f"the body must be a JSON list of faults, each an object with any of: {allowed}")
        unknown = sorted(set(item) - set(names))
        if unknown:
            raise ValueError(f"unknown fault field(s) {', '.join(unknown)}; allowed: {allowed}")
        faults.append(Fault(**item))
    return lambda sandbox: sandbox.inject(*faults)


def _chaos(body: Any) -> Callable[[KlingSandbox], None]:
    """What ``POST /_sandbox/chaos`` does with its body: ``{"rate": 0 to 1, "seed": an integer}``."""
    if not isinstance(body, dict) or set(body) - {"rate", "seed"}:
        raise ValueError('the body must be a JSON object {"rate": 0 to 1, "seed": an integer}')
    rate, seed = body.get("rate", 0), body.get("seed", 0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be a number from 0 to 1, not {rate!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")

    def apply(sandbox: KlingSandbox) -> None:
        with sandbox._lock:
            sandbox.chaos_rate = float(rate)
            sandbox._chaos.seed(seed)

    return apply


def _concurrency(body: Any) -> Callable[[KlingSandbox], None]:
    """What ``POST /_sandbox/concurrency`` does with its body: ``{"limit": tasks rendering at once, 0 for none}``."""
    if not isinstance(body, dict) or set(body) != {"limit"}:
        raise ValueError('the body must be a JSON object {"limit": tasks rendering at once, 0 for no limit}')
    limit = body["limit"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number of tasks from 0, not {limit!r}")

    def apply(sandbox: KlingSandbox) -> None:
        with sandbox._lock:
            sandbox.concurrency = limit

    return apply


def _rate_limit(body: Any) -> Callable[[KlingSandbox], None]:
    """What ``POST /_sandbox/rate_limit`` does with its body: ``{"rate": requests a second, 0 for none}``."""
    if not isinstance(body, dict) or set(body) != {"rate"}:
        raise ValueError('the body must be a JSON object {"rate": requests a second, 0 for no limit}')
    rate = body["rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < float("inf"):
        raise ValueError(f"rate must be a number of requests a second from 0, not {rate!r}")

    def apply(sandbox: KlingSandbox) -> None:
        with sandbox._lock:
            sandbox.rate_limit = float(rate)
            sandbox._rate_tokens = None

    return apply


#: The controls that take a JSON body, each with what it does with it.
_CONTROLS = {"faults": _faults, "chaos": _chaos, "rate_limit": _rate_limit, "concurrency": _concurrency}


def _make_handler(sandbox: KlingSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, Nagle and delayed ACKs add ~40 ms.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with sandbox._lock:
                sandbox.connections_opened += 1
                sandbox.connections_open += 1
                sandbox.most_connections_open = max(sandbox.most_connections_open, sandbox.connections_open)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                with sandbox._lock:
                    sandbox.connections_open -= 1

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("sandbox: " + format, *args)

        def _send(
            self, status: int, payload: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
        ) -> None:
            if isinstance(payload, bytes):
                raw = payload
            body = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if raw is None else "text/html")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (timed out) before the answer came
                    self.close_connection = True

        def _body(self) -> Any:
            return json.loads(self._raw_body or b"null")

        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            self._raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            if parts.path.startswith(VIDEO_PATH):
                return self._video(parts.path[len(VIDEO_PATH) :])
            if parts.path.startswith(CONTROL_PATH):
                return self._control(method, parts.path[len(CONTROL_PATH) :])
            with sandbox._lock:
                sandbox.requests.append((method, parts.path))
                sandbox.request_times.append(time.monotonic())
                sandbox.user_agents[self.headers.get("User-Agent", "")] += 1
                sandbox.in_flight += 1
                sandbox.most_in_flight = max(sandbox.most_in_flight, sandbox.in_flight)
            try:
                return self._api_answer(method, parts.path, parts.query)
            finally:
                with sandbox._lock:
                    sandbox.in_flight -= 1

        def _api_answer(self, method: str, path: str, query: str) -> None:
            if sandbox.over_rate_limit():
                time.sleep(sandbox.latency)
                return self._send(*sandbox.rate_limited())
            fault = sandbox.take_fault(method, path=path)
            delay = sandbox.latency + (fault.delay if fault else 0.0)
            if delay:
                time.sleep(delay)
            if fault and (fault.drop or fault.reset):
                if fault.drop:
                    self._api(method, path, query)
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if fault and fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                if fault.body is not None:
                    return self._send(fault.status, raw=fault.body.encode(), headers=headers)
                if fault.code is None:
                    return self._send(fault.status, _relay_error("", fault.message), headers=headers)
                return self._send(*sandbox.kling_error(fault.status, fault.code, fault.message), headers=headers)
            status, payload = self._api(method, path, query)
            return self._send(status, payload)

        def _api(self, method: str, path: str, query: str) -> tuple[int, Any]:
            endpoint, by_id = sandbox.routes.get(path), None
            parent, _, tail = path.rpartition("/")
            editing = sandbox.session_routes.get(path) if method == "POST" else None
            if endpoint is None and method == "GET" and parent in sandbox.routes:
                endpoint, by_id = sandbox.routes[parent], tail
            listed = method == "GET" and by_id is None and endpoint is TEXT2VIDEO and sandbox.backend.list_route
            routed = editing is not None or (endpoint is not None and (by_id is not None or listed or method == "POST"))
            if not routed and sandbox.profile == "cometapi":
                return 200, RELAY_HTML  # the relay's web UI answers every path it does not route
            refused = sandbox.refuse_auth(self.headers.get("Authorization"))
            if refused:
                return refused
            if editing:
                try:
                    return 200, _envelope(sandbox.edit_session(*editing, self._body()))
                except ValueError as error:
                    return sandbox.kling_error(400, 1201, str(error))
            if endpoint is None or not routed:
                return 404, _error(1202, f"no such method or path: {method} {path}")
            if method == "POST":
                try:
                    body = self._body()
                    with sandbox._lock:
                        sandbox.submissions.append(body)
                    if not isinstance(body, dict):
                        return sandbox.kling_error(400, 1200, "the request body must be a JSON object")
                    task = sandbox.create_task(body, endpoint)
                except AccountBusy as error:
                    return sandbox.kling_error(429, ACCOUNT_BUSY_CODE, str(error))
                except ValueError as error:
                    return sandbox.kling_error(400, 1201, str(error))
                created = task.as_json(sandbox.url)
                # A creation is answered "submitted" (the reference's example), however short the render.
                created.update(task_status="submitted", updated_at=created["created_at"])
                return 200, _envelope(
                    {key: created[key] for key in ("task_id", "task_status", "task_info", "created_at", "updated_at")}
                )
            if listed:
                params = parse_qs(query)
                page = int(params.get("pageNum", ["1"])[0])
                size = int(params.get("pageSize", ["30"])[0])
                with sandbox._lock:
                    newest_first = sorted(
                        (task for task in sandbox.tasks.values() if task.endpoint == TEXT2VIDEO.name),
                        key=lambda t: t.started,
                        reverse=True,
                    )
                chosen = newest_first[(page - 1) * size : page * size]
                return 200, _envelope([task.as_json(sandbox.url) for task in chosen])
            found = sandbox.find(unquote(by_id or ""), endpoint)
            if found is not None:
                return 200, _envelope(found.as_json(sandbox.url))
            if sandbox.profile == "cometapi":
                return 400, {"code": "task_not_exist", "message": "task_not_exist", "data": None}
            return 404, _error(1203, "task not found")

        def _video(self, name: str) -> None:
            with sandbox._lock:
                sandbox.video_requests.append(dict(self.headers))
            task = sandbox.find(name.removesuffix(".mp4").removesuffix(".mp3"))
            if task is None or task.status() != SUCCEEDED:
                return self._send(404, _error(1203, "no such video"))
            if name.endswith(".mp3"):  # an audio endpoint's result: a short MP3 (an ID3 tag, then silent frames)
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(AUDIO_SAMPLE)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(AUDIO_SAMPLE)
                return None
            fault = sandbox.take_fault(self.command, target="video")
            if fault and fault.status and not fault.drop:
                return self._send(fault.status, _error(fault.code or 5000, fault.message))
            total = sandbox.video_size
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            if self.command == "HEAD":
                return None
            limit = total // 2 if fault and fault.drop else total
            try:
                for chunk in _video_chunks(sandbox._video, total):
                    chunk = chunk[:limit]
                    self.wfile.write(chunk)
                    limit -= len(chunk)
                    if limit <= 0:
                        break
            except OSError:
                pass
            if fault and fault.drop:
                self.close_connection = True
                self.connection.shutdown(2)
            return None

        def _control(self, method: str, name: str) -> None:
            if method == "GET" and name.startswith("ended/"):
                # For generic HTTP sensors, which can only wait for a 2xx: 404 until the task ends.
                time.sleep(sandbox.latency)
                task = sandbox.find(name[len("ended/") :])
                if task is None or task.status() in ACTIVE_STATUSES:
                    return self._send(404, _error(1203, "the task has not ended"))
                return self._send(200, {"task_status": task.status()})
            if method == "GET" and name == "stats":
                return self._send(200, sandbox.stats())
            if method == "POST" and name in _CONTROLS:
                try:
                    apply = _CONTROLS[name](self._body())
                except ValueError as error:  # json's decode error is one too
                    return self._send(400, {"error": f"POST {CONTROL_PATH}{name}: {error}"})
                apply(sandbox)
                return self._send(200, sandbox.stats())
            if method == "POST" and name == "reset":
                sandbox.reset()
                return self._send(200, sandbox.stats())
            return self._send(404, _error(1202, f"no such control: {method} {name}"))

    return Handler
