"""Waiting for a free slot on the account: what a submission refused for the account's concurrency does.

Kling renders a limited number of tasks of an account at once: a task holds a slot from its submission
until it ends, and a submission beyond the limit is refused (1303) before any work. Only time fixes that,
so a refused submission waits for a slot instead of failing: blocking, in its worker, with a backoff of
its own (:func:`slot_pause`); deferred, in the triggerer, in the account's :class:`SlotQueue`, which all
the waits of one triggerer on that account share. The queue serves them first come, first served: a
wait is released when a task of the account that this triggerer polls ends, or, when none has ended for
a while, the first wait is released to try (a probe), with a backoff shared by the whole queue. A
released wait submits again; refused again, it rejoins the queue at the place it had.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
import weakref
from collections.abc import Hashable

#: The longest pause between a blocking wait's tries, and between a queue's probes, in seconds.
MAX_SLOT_PAUSE = 60.0
#: The shares of a pause drawn at random: waits that start together spread out.
SLOT_PAUSE_SHARES = (0.5, 1.0)
#: The random source of every pause (tests seed it).
slot_jitter = random.Random()


def _share() -> float:
    low, high = SLOT_PAUSE_SHARES
    return low + (high - low) * slot_jitter.random()


def slot_pause(refusals: int, base: float, retry_after: float | None = None) -> float:
    """
    Return the seconds a blocking wait pauses before it submits again: ``base`` doubled with each refusal, up to
    :data:`MAX_SLOT_PAUSE`, a random share of it; a service's ``Retry-After`` when it gives one (up to the same cap).

    :param refusals: how many times the submission has been refused so far (1 after the first refusal).
    :param base: the first pause, in seconds (the connection's ``retry_delay``).
    :param retry_after: the seconds the service asked for, if it did.
    """
    if retry_after is not None:
        return min(retry_after, MAX_SLOT_PAUSE)
    return min(MAX_SLOT_PAUSE, base * 2.0 ** max(0, refusals - 1)) * _share()


#: A queued wait: when its generation was first refused, its order of arrival, and the future its release sets.
_Waiter = tuple[float, int, "asyncio.Future[str]"]


class SlotQueue:
    """
    The waits for a free slot on one account in one event loop (a triggerer), served first come, first served.

    :param base_delay: the first pause before a probe, in seconds; it doubles with each probe (up to
        :data:`MAX_SLOT_PAUSE`) and starts again when the queue empties.
    """

    def __init__(self, base_delay: float) -> None:
        self.base_delay = base_delay
        self.probe_delay = base_delay
        self._heap: list[_Waiter] = []
        self._arrivals = itertools.count()
        self._next_probe = 0.0  # time.monotonic() of the next probe
        self._prober: asyncio.Task[None] | None = None

    def join(self, waiting_since: float) -> asyncio.Future[str]:
        """
        Queue a wait; return the future that the release sets to why it came.

        :param waiting_since: when the generation was first refused (seconds since the epoch): its place.
        """
        loop = asyncio.get_running_loop()
        if not self.waiting():
            self.probe_delay = self.base_delay
            self._next_probe = time.monotonic() + self.probe_delay * _share()
        waiter: _Waiter = (waiting_since, next(self._arrivals), loop.create_future())
        heapq.heappush(self._heap, waiter)
        if self._prober is None or self._prober.done():
            self._prober = loop.create_task(self._probe())
        return waiter[2]

    def waiting(self) -> int:
        """How many waits are queued."""
        return sum(1 for waiter in self._heap if not waiter[2].done())

    def ahead_of(self, released: asyncio.Future[str]) -> int:
        """How many queued waits come before the one :meth:`join` gave ``released`` to."""
        mine = next((waiter[:2] for waiter in self._heap if waiter[2] is released), None)
        if mine is None:
            return 0
        return sum(1 for waiter in self._heap if not waiter[2].done() and waiter[:2] < mine)

    def release(self, reason: str) -> bool:
        """Release the first wait in the queue with ``reason``; False when none waits."""
        while self._heap:
            released = heapq.heappop(self._heap)[2]
            if not released.done():
                released.set_result(reason)
                self._next_probe = time.monotonic() + self.probe_delay * _share()
                return True
        return False

    def task_ended(self) -> None:
        """A task of the account ended, which frees its slot: release the first wait."""
        self.release("a task on the account ended")

    async def _probe(self) -> None:
        """While waits are queued and none is released for a while, release the first to try, backing off."""
        while self.waiting():
            due = self._next_probe - time.monotonic()
            if due > 0:
                await asyncio.sleep(due)
                continue
            waited, self.probe_delay = self.probe_delay, min(MAX_SLOT_PAUSE, self.probe_delay * 2)
            self.release(f"no task on the account was seen to end for {waited:.0f} s: trying")


class SlotQueues:
    """The :class:`SlotQueue` of each account in each event loop."""

    def __init__(self) -> None:
        # Weak keys: a loop that ends forgets its queues.
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, SlotQueue]] = (
            weakref.WeakKeyDictionary()
        )

    def _queues(self) -> dict[Hashable, SlotQueue]:
        return self._by_loop.setdefault(asyncio.get_running_loop(), {})

    def of(self, account: Hashable, base_delay: float) -> SlotQueue:
        """
        Return the queue of ``account`` in the running loop, made for its first wait.

        :param account: who the service counts slots for (see ``KlingSettings.account``).
        :param base_delay: the first pause before a probe (the connection's ``retry_delay``).
        """
        return self._queues().setdefault(account, SlotQueue(base_delay))

    def task_ended(self, account: Hashable) -> None:
        """A task of ``account`` ended: release the first wait of its queue in the running loop, if any."""
        queue = self._queues().get(account)
        if queue is not None:
            queue.task_ended()


#: The queues of this process (a triggerer): its waits for a slot learn from its polls.
slot_queues = SlotQueues()
