"""Every default and limit of the provider, each defined once (connection extras, retries, waits, the async pool)."""

from __future__ import annotations

#: The connection the hooks, operators, sensor and triggers use unless told otherwise, and its default service.
DEFAULT_CONN_ID = "kling_default"
DEFAULT_BACKEND_NAME = "cometapi"

#: The connection's ``timeout`` extra when unset: seconds per HTTP request; and the most it may ask for.
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 3600.0
#: The connection's ``retry_limit`` extra when unset: retries of a transient failure inside the hook; and the most.
DEFAULT_RETRY_LIMIT = 5
MAX_RETRY_LIMIT = 20
#: The connection's ``retry_delay`` extra when unset: the first pause of a backoff, in seconds; and the most, which
#: is also the longest pause of any backoff (retries, and the waits for a free slot on the account).
DEFAULT_RETRY_DELAY = 2.0
MAX_RETRY_DELAY = 60.0
#: The longest ``Retry-After`` honoured as given; longer asks are capped to this.
MAX_RETRY_AFTER = 300.0
#: The connection's ``requests_per_second`` extra when unset: our choice, not a published figure (CometAPI
#: publishes no rate), low enough for any key, which a connection raises to what its account allows; and its range.
DEFAULT_REQUESTS_PER_SECOND = 10.0
MIN_REQUESTS_PER_SECOND = 0.01
MAX_REQUESTS_PER_SECOND = 10_000.0

#: The connections one triggerer keeps to one Kling endpoint with one connection's settings, shared by all of its
#: waits; as many requests are in flight at once, the others queue.
ASYNC_POOL_SIZE = 100
#: How long the waits of one triggerer reuse a connection one of them looked up, in seconds: a changed connection
#: reaches new waits within this time.
CONNECTION_REUSE_SECONDS = 30.0

#: Kling's own API: how long a signed token lives, and how long before its end a new one is made.
JWT_LIFETIME = 1800
JWT_RENEW_BEFORE = 300

#: How long a submission waits for a free slot on the account when nothing else bounds it, in seconds.
DEFAULT_SLOT_TIMEOUT = 3600.0

#: The operators' defaults: the most seconds between polls, and the longest wait for a video.
DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_WAIT_TIMEOUT = 3600.0
#: The longest wait or interval an operator argument may ask for: 30 days.
MAX_SECONDS = 30 * 86400

#: The longest ``external_task_id`` Kling takes; a given one may take 8 fewer, leaving room for a later
#: generation's ``-2``, ``-3``...
EXTERNAL_TASK_ID_MAX_CHARS = 128
GIVEN_EXTERNAL_TASK_ID_MAX_CHARS = EXTERNAL_TASK_ID_MAX_CHARS - 8

#: What a try does when an earlier submission's outcome is unknown (its answer was lost) and the backend cannot be
#: asked whether it created the task: send it again with the same ``external_task_id``, or fail.
UNKNOWN_SUBMISSION_POLICIES = ("resubmit", "fail")
