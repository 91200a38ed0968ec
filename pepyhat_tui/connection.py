"""The connection watcher: is the service answering, and what the dashboard does when it is not.

Every call the client makes reports here (``PepyHatClient.observer``).  A call
that fails for want of the service (refused, reset, timed out, a proxy's
502/503/504) takes the dashboard offline at once: the environment bar says
"disconnected — retrying in 3 s", the rows on screen are marked stale and
changes are held back.  A probe retries with backoff (ctrl+r: now); the first
answer, the probe's or any other call's, brings it back online, and every
visible screen reloads by itself (the others when they are shown again: each
remembers the ``epoch`` it last loaded in).  An idle dashboard asks ``/readyz``
every few seconds, so an outage shows (and its end reloads the screen) with no
key pressed.

A 401 on the dashboard's own token is not an outage: the token was revoked or
has expired, and retrying cannot help.  The watcher says so and the dashboard
offers to quit or switch profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pepyhat_tui.client import GATEWAY_STATUSES, ClientError

if TYPE_CHECKING:
    from textual.timer import Timer

    from pepyhat_tui.app import PepyHatApp

State = Literal["online", "offline", "refused"]

# Seconds before each retry: the first soon (a restart takes a few seconds), then backing off to
# a probe every 15 s (one cheap request; ctrl+r probes at once).
RETRY_DELAYS: tuple[float, ...] = (3, 6, 12, 15)
SLOW_AFTER = 2.0  # a call outstanding this long is shown in the bar ("waiting on the service 4 s")
RECONNECTED_FOR = 5.0  # how long the bar says "reconnected"
FLAPPING_WITHIN = 30.0  # lost again this soon after a recovery: the backoff goes on where it was
HEARTBEAT_EVERY = 5.0  # an idle dashboard asks /readyz this often (0: never)


def is_outage(error: ClientError) -> bool:
    """Did this call fail for want of the service (not because the service said no)?"""
    if error.status is None:
        return error.code in ("unreachable", "timeout", "transport_error")
    return error.status in GATEWAY_STATUSES


def is_refused_token(error: ClientError) -> bool:
    """The service no longer takes the dashboard's token (revoked, expired, deleted)."""
    return error.status == 401


@dataclass
class Status:
    """What the environment bar shows of the connection."""

    state: State
    text: str  # "" when there is nothing to say
    style: str = ""


class ConnectionWatcher:
    def __init__(
        self, app: "PepyHatApp", delays: tuple[float, ...] = RETRY_DELAYS, heartbeat: float = HEARTBEAT_EVERY
    ) -> None:
        self.app = app
        self.delays = delays
        self.heartbeat = heartbeat
        self._last_answer = time.monotonic()
        self.state: State = "online"
        self.reason: ClientError | None = None  # why it is offline or refused
        self.since: datetime | None = None  # when it went offline (what stale rows are as of)
        self.epoch = 0  # reconnections so far: a screen loaded in an older epoch reloads when shown
        self.attempt = 0  # probes failed since going offline
        self.probing = False
        self._retry_at: float | None = None  # monotonic time of the next probe
        self._retry: Timer | None = None
        self._reconnected_at: float | None = None
        self._ticker: Timer | None = None
        self._shown = Status("online", "")

    @property
    def online(self) -> bool:
        return self.state == "online"

    @property
    def next_probe_in(self) -> float | None:
        """Seconds to the next probe; None when none is planned (online, probing, or nothing to probe)."""
        return None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic())

    def start(self) -> None:
        """Tick once a second: the countdown, and how long a call has been waiting."""
        self._ticker = self.app.set_interval(1.0, self._tick)

    # -- what the client reports -------------------------------------------------------

    def answered(self) -> None:
        """The service answered a call (whatever it said)."""
        self._last_answer = time.monotonic()
        if self.state == "offline":
            self._recovered()

    def signed_in(self) -> None:
        """The service took the token again (a probe after ctrl+r, or the first sign-in)."""
        if self.state != "online":
            self._recovered()

    def explains(self, error: ClientError) -> bool:
        """Is ``error`` what the watcher already says (so a screen need not toast it again)?"""
        return not self.online and (is_outage(error) or is_refused_token(error))

    def failed(self, error: ClientError) -> None:
        """A call failed; only an outage or a refused token changes anything here."""
        if is_outage(error):
            self._lost(error)
        elif is_refused_token(error) and self.app.target.mode == "remote":
            self._refused(error)

    # -- transitions ---------------------------------------------------------------------

    def _lost(self, error: ClientError) -> None:
        error = self.app.outage_reason(error)
        said, self.reason = self.reason, error
        if error.code == "stopped":  # the embedded service died: no probe can bring it back
            self.state, self.probing = "offline", False
            self.since = self.since or self.app.now()
            self._cancel_retry()
            if said is None or said.code != "stopped":
                self.app.connection_changed()
            return
        if self.state == "offline":
            if self.probing:
                self.probing = False
                self.attempt += 1
                self._schedule()
            if said is None or said.message != error.message:
                self.app.connection_changed()  # the banners say the latest reason
            return
        self.state = "offline"
        self.since = self.app.now()
        # Lost again soon after coming back (the probe passes, the screen's own call fails): keep
        # backing off rather than flap at the first delay.
        flapping = self._reconnected_at is not None and time.monotonic() - self._reconnected_at < FLAPPING_WITHIN
        self.attempt = self.attempt + 1 if flapping else 0
        self._schedule()
        self.app.connection_changed()

    def _recovered(self) -> None:
        self.state = "online"
        self.reason = None
        self.since = None
        self.probing = False
        self.epoch += 1
        self._cancel_retry()
        self._reconnected_at = time.monotonic()
        self.app.connection_changed(recovered=True)

    def _refused(self, error: ClientError) -> None:
        asked = self.state != "refused" or self.probing  # new, or the operator asked again (ctrl+r)
        self.state = "refused"
        self.reason = error
        self.probing = False
        self._cancel_retry()
        if asked:
            self.app.connection_changed()
            self.app.token_refused(error)

    # -- probing -------------------------------------------------------------------------

    def retry_now(self) -> None:
        """ctrl+r while offline or refused: probe at once."""
        self._cancel_retry()
        self._probe()

    def _schedule(self) -> None:
        self._cancel_retry()
        delay = self.delays[min(self.attempt, len(self.delays) - 1)]
        self._retry_at = time.monotonic() + delay
        self._retry = self.app.set_timer(delay, self._probe)
        self.refresh()

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.stop()
        self._retry = self._retry_at = None

    def _probe(self) -> None:
        self._retry = self._retry_at = None
        self.probing = True
        self.refresh()
        self.app.connect()  # its answer (or failure) comes back through answered / failed

    def probe_done(self) -> None:
        """The probe ended without a verdict from the client (it never reached a call)."""
        if self.probing:
            self.probing = False
            if self.state == "offline":
                self.attempt += 1
                self._schedule()

    # -- what the bar shows --------------------------------------------------------------

    def status(self) -> Status:
        now = time.monotonic()
        if self.state == "refused":
            return Status("refused", "⛔ token refused", "bold reverse")
        if self.state == "offline":
            if self.reason is not None and self.reason.code == "stopped":
                return Status("offline", "⚠ embedded service stopped", "bold reverse")
            wait = self.next_probe_in
            if self.probing or wait is None:
                return Status("offline", "⚠ disconnected — retrying now…", "bold reverse")
            left = max(1, round(wait))
            return Status("offline", f"⚠ disconnected — retrying in {left} s", "bold reverse")
        waited = self.app.waiting_for()
        if waited is not None and waited >= SLOW_AFTER:
            return Status("online", f"⏳ waiting on the service {int(waited)} s", "bold yellow")
        if self._reconnected_at is not None and now - self._reconnected_at < RECONNECTED_FOR:
            return Status("online", "✓ reconnected", "bold green")
        return Status("online", "")

    def refresh(self) -> None:
        """Redraw the bars if what they say of the connection changed."""
        shown = self.status()
        if shown != self._shown:
            self._shown = shown
            self.app.refresh_bars()

    def _tick(self) -> None:
        idle = time.monotonic() - self._last_answer
        if self.online and self.heartbeat and idle >= self.heartbeat and self.app.waiting_for() is None:
            self._last_answer = time.monotonic()  # (one heartbeat at a time)
            self.app.heartbeat()
        self.refresh()
