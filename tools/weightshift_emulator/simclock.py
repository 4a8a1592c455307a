"""The emulator's simulated clock: one time for the traffic, the alarms and the functions.

Time is ``patches.SIM_TIME``, the clock the Lambda handlers already read through
``weightshift.clock.now`` (so the health gate's GetMetricData window ends at the same
"now" the traffic published its data points for). A :class:`SimClock` moves it forward
and makes everything that lives in time (:class:`traffic.Traffic`, :class:`alarms.AlarmEvaluator`)
live through each second of it, in order: the clients send their requests, the load
balancers publish the minutes that are due, then the alarms evaluate at each whole minute.

Three ways to let time pass:

- :meth:`SimClock.step` / :meth:`SimClock.advance_to`: deterministic, for tests. Nothing
  happens between two calls.
- :meth:`SimClock.start` / :meth:`SimClock.stop`: a background thread runs the clock
  ``scale`` times faster than the wall clock (a person watching a long-running emulator;
  scale 60 is a simulated minute a second). It also sets ``patches.CLOCK.scale`` to
  ``1 / scale``, so a Wait state of the workflow sleeps as long as the same time takes on
  this clock: the workflow and the traffic see the same time pass. ``stop`` joins the
  thread and restores the Wait scale.
- :meth:`SimClock.following_waits`: with the engine's Waits not sleeping
  (``CLOCK.scale = 0``, the tests' setting), each Wait state's seconds pass on this clock
  before the execution goes on: a 15 s health poll is 15 s of traffic, publications and
  alarm evaluations. For one execution at a time (two concurrent Waits would each add
  their seconds).

A long-running emulator, as a person uses it (stop the clock before the emulator: the
emulator's stop resets moto)::

    emulator = start_emulator()
    aws = emulator.clients()
    world = build_surroundings(aws)
    set_weighted_pair(aws, world, blue=100, green=0)
    clock = simclock.for_surroundings(world, rate=50)
    clock.start(scale=60)                          # a simulated minute a second
    clock.traffic.set_quality("green", traffic.BAD)  # or release an image tagged ...-bad
    ...
    clock.stop(); emulator.stop()

If ``SIM_TIME`` was not running, the first :class:`SimClock` starts it at the next whole
minute of the wall clock (so minutes of data line up with whole minutes of simulated time,
and nothing the wall clock stamped before, an alarm's creation, lies in its future);
``patches.reset`` ends it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from weightshift_emulator import alarms, health_metrics, patches, traffic
from weightshift_emulator.world import Surroundings

LOG = logging.getLogger("weightshift_emulator")


class Participant(Protocol):
    def advance(self, start: float, end: float) -> None:
        """Live through (start, end], in epoch seconds."""


class SimClock:
    """Moves ``patches.SIM_TIME`` forward in ticks of at most ``tick`` seconds (aligned to
    whole multiples of it) and lets each participant live through every tick."""

    def __init__(self, *participants: Participant, start: datetime | None = None, tick: float = 1.0) -> None:
        if patches.SIM_TIME.start is None:
            if start is None:  # the next whole minute: never before what the wall clock already stamped
                now = datetime.now(UTC)
                start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            patches.SIM_TIME.begin(start.astimezone(UTC))
        self.participants: list[Participant] = list(participants)
        self.tick = float(tick)
        self.traffic: traffic.Traffic | None = None
        self.alarms: alarms.AlarmEvaluator | None = None
        self.health_metrics: health_metrics.HealthCheckMetrics | None = None
        self.errors: list[BaseException] = []
        self.slowed = 0  # how often the ticker fell behind and slowed down
        self._processed = patches.SIM_TIME.now().timestamp()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._saved_scale: float | None = None

    # ---------------------------------------------------------------- reading the time
    def now(self) -> datetime:
        return patches.SIM_TIME.now()

    @property
    def elapsed(self) -> float:
        """Simulated seconds since ``SIM_TIME`` began."""
        return patches.SIM_TIME.elapsed

    # ---------------------------------------------------------------- deterministic
    def step(self, seconds: float) -> datetime:
        """Let ``seconds`` of simulated time pass; return the new time."""
        return self.advance_to(max(self.elapsed, self._processed_elapsed()) + seconds)

    def advance_to(self, elapsed: float, limit: float | None = None) -> datetime:
        """Let simulated time pass until ``elapsed`` seconds after the start (at most
        ``limit`` seconds of it in this call); time never goes back."""
        with self._lock:
            start = patches.SIM_TIME.start
            if start is None:
                raise RuntimeError("SIM_TIME has ended (patches.reset): make a new SimClock")
            origin = start.timestamp()
            target = origin + elapsed
            if limit is not None:
                target = min(target, self._processed + limit)
            t = self._processed
            while t < target:
                boundary = (math.floor(t / self.tick + 1e-9) + 1) * self.tick
                nxt = min(target, boundary)
                for participant in self.participants:
                    participant.advance(t, nxt)
                patches.SIM_TIME.advance_to(nxt - origin)
                t = self._processed = nxt
            patches.SIM_TIME.advance_to(max(patches.SIM_TIME.elapsed, self._processed - origin))
            return patches.SIM_TIME.now()

    def _processed_elapsed(self) -> float:
        start = patches.SIM_TIME.start
        return self._processed - start.timestamp() if start else 0.0

    # ---------------------------------------------------------------- the ticker
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, scale: float = 60.0, interval: float = 0.05, max_lag: float = 30.0) -> None:
        """Run the clock ``scale`` times faster than the wall clock, in a background thread,
        until :meth:`stop`. If simulating falls more than ``max_lag`` simulated seconds
        behind, the clock slows down instead of skipping time (:attr:`slowed` counts it)."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        with self._lock:
            if self.running:
                raise RuntimeError("the clock is already running")
            self._stopping.clear()
            self._saved_scale = patches.CLOCK.scale
            patches.CLOCK.scale = 1.0 / scale
            self._thread = threading.Thread(
                target=self._run, args=(scale, interval, max_lag), name="weightshift-sim-clock", daemon=True
            )
            self._thread.start()

    def _run(self, scale: float, interval: float, max_lag: float) -> None:
        base_real, base_sim = time.monotonic(), self.elapsed
        while not self._stopping.wait(interval):
            wanted = base_sim + (time.monotonic() - base_real) * scale
            try:
                self.advance_to(wanted, limit=max(max_lag, scale * interval * 2))
            except Exception as exc:  # a broken participant stops the clock, loudly
                LOG.exception("the simulated clock stopped")
                self.errors.append(exc)
                return
            behind = wanted - self._processed_elapsed()
            if behind > max_lag:
                self.slowed += 1
                base_real, base_sim = time.monotonic(), self._processed_elapsed()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the ticker thread and wait for it; restore the Wait scale. Raises if the
        thread does not end, or if a participant failed while it ran."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the simulated clock's thread did not stop within {timeout}s")
        self._thread = None
        if self._saved_scale is not None:
            patches.CLOCK.scale = self._saved_scale
            self._saved_scale = None
        if self.errors:
            raise RuntimeError("the simulated clock failed") from self.errors[0]

    # ---------------------------------------------------------------- following the workflow
    def _on_wait(self, wait: patches.Wait) -> None:
        if wait.kind != "wait" or wait.seconds <= 0:
            return
        if wait.ended is None:
            self.step(wait.seconds)
            return
        # A task waiting for its token: time passes a tick at a time, and stops the moment
        # something the time brought (an alarm's state change, its event, the listener)
        # answered the token, as the task would end then on AWS.
        end = self._processed_elapsed() + wait.seconds
        while self._processed_elapsed() < end - 1e-9 and not wait.ended():
            self.advance_to(min(end, self._processed_elapsed() + self.tick))

    @contextmanager
    def following_waits(self) -> Iterator[SimClock]:
        """While inside: each Wait state the engine records lets its seconds pass on this clock."""
        if self.running:
            raise RuntimeError("the ticker runs: Waits already take their time")
        patches.CLOCK.hooks.append(self._on_wait)
        try:
            yield self
        finally:
            if self._on_wait in patches.CLOCK.hooks:
                patches.CLOCK.hooks.remove(self._on_wait)

    def __enter__(self) -> SimClock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def for_record(
    zone_id: str, record_name: str, *, start: datetime | None = None, evaluate_alarms: bool = True, **knobs: Any
) -> SimClock:
    """A clock with clients of one record (``traffic.Traffic`` knobs: rate, clients, seed,
    publish_delay, overstay_fraction, overstay_seconds), Route 53's health-check metrics
    (``health_metrics``, with the same publish_delay) and, by default, the alarm evaluator."""
    clients = traffic.Traffic(zone_id, record_name, **knobs)
    # Route 53's health checks publish their minutes (to us-east-1) before the alarms evaluate.
    checks = health_metrics.HealthCheckMetrics(clients.account, publish_delay=clients.publish_delay)
    evaluator = alarms.AlarmEvaluator(clients.account, clients.region)
    clock = SimClock(clients, checks, *([evaluator] if evaluate_alarms else []), start=start)
    clock.traffic = clients
    clock.health_metrics = checks
    clock.alarms = evaluator if evaluate_alarms else None
    return clock


def for_surroundings(s: Surroundings, **knobs: Any) -> SimClock:
    """:func:`for_record` for the weighted pair of ``world.build_surroundings``."""
    return for_record(s.zone_id, s.record_name, **knobs)
