"""Debounced, coalesced refreshes driven by an experiment's change events.

``Experiment.subscribe`` calls its listeners synchronously, in whatever thread made the change
(the notebook's main thread, a background ``run``'s thread, the thread that noticed another
process's write). A widget must neither block that thread nor redraw once per trial, so it
hands the events to a ``Refresher``: a small worker thread that wakes up when something
changed and calls the widget's refresh function once with the latest state. Two timings:

* debounce (the default; the panel and the explorer): wait ``interval`` seconds after a change
  so that a burst of events becomes one refresh, then refresh; a refresh that is running when
  new events arrive is followed by exactly one more;
* ``leading=True`` (the dashboards), a leading-edge throttle: a change that finds the worker
  idle, ``interval`` seconds or more after the previous refresh started, is refreshed at once
  (a single ``complete()`` shows up as fast as the refresh can compute it). Changes that
  arrive during a refresh, or less than ``interval`` after the previous one started, are
  coalesced into one refresh that starts ``interval`` after the previous one started. So a
  fast background run (many changes per second) still causes at most about one refresh per
  ``interval``, each with the latest state.

Either way the last change is always followed by a refresh.

    refresher = Refresher(exp, widget.refresh, interval=0.5)
    ...
    refresher.close()          # unsubscribes and stops the worker

The worker never raises: an exception in the refresh function is kept in ``last_error`` (and
shown by the widget) so a broken plot cannot break the experiment or the run. At interpreter
exit the worker is closed and waited for (``axnb.loop.stop_at_exit``), so it is never killed in
the middle of a refresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from axnb.loop import stop_at_exit

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: Default debounce delay, or (``leading=True``) least time between the starts of two
#: automatic refreshes (seconds).
INTERVAL = 0.5


class Refresher:
    """Call ``refresh()`` in a worker thread after the experiment changes, always with the
    latest state (events are coalesced): ``interval`` seconds after a change, or with
    ``leading=True`` at once when idle and at most about once per ``interval`` seconds under
    a stream of changes (see module doc).

    ``refreshes`` counts the refreshes done, ``pending`` says whether a change waits for one
    (a refresh function may cut its work short to come back sooner), ``clock`` is the
    monotonic clock the throttle reads (tests may replace it)."""

    def __init__(
        self,
        exp: Experiment,
        refresh: Callable[[], Any],
        interval: float = INTERVAL,
        name: str = "axnb-widget-refresh",
        leading: bool = False,
    ) -> None:
        self.interval = float(interval)
        self.leading = bool(leading)
        self.last_error: BaseException | None = None
        self.refreshes = 0
        self.clock: Callable[[], float] = time.monotonic
        self._last_start: float | None = None  # clock() when the previous refresh started
        self._refresh = refresh
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        stop_at_exit(self._stop, self._thread.join)
        self._unsubscribe: Callable[[], None] | None = exp.subscribe(self._on_change)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _on_change(self, event: str, trials: list[Trial]) -> None:
        # Runs in the thread that changed the experiment: only flag, never work here.
        if not self._closed.is_set():
            self._pending.set()

    @property
    def pending(self) -> bool:
        """Whether a change arrived that no refresh has started to handle yet."""
        return self._pending.is_set() and not self._closed.is_set()

    def poke(self) -> None:
        """Ask for a refresh as if the experiment had changed."""
        self._on_change("poke", [])

    def _loop(self) -> None:
        while True:
            self._pending.wait()
            if self._closed.is_set():
                return
            if not self.leading:
                if self._closed.wait(self.interval):  # debounce: coalesce a burst
                    return
            elif self._last_start is not None:  # throttle: coalesce what arrives meanwhile
                wait = self._last_start + self.interval - self.clock()
                if wait > 0 and self._closed.wait(wait):
                    return
            with self._idle:
                self._pending.clear()
                self._busy = True
            self._last_start = self.clock()
            try:
                self._refresh()
                self.last_error = None
            except Exception as e:  # keep the worker alive; the widget shows the error
                self.last_error = e
            finally:
                self.refreshes += 1
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if self._closed.is_set():
                return

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no refresh is pending or running (True) or ``timeout`` passes (False).
        Handy in scripts and tests; widgets never need it."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while (self._pending.is_set() or self._busy) and not self._closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Unsubscribe from the experiment and stop the worker (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop()

    def _stop(self) -> None:
        """Stop the worker. Takes no lock (at interpreter exit a run may hold the
        experiment's): after this, change events are ignored."""
        self._closed.set()
        self._pending.set()  # wake the worker so it can exit


class FollowingBox(widgets.VBox):
    """A VBox that follows an experiment through a ``Refresher`` (set ``self._refresher``):
    ``wait_idle()`` for scripts and tests, ``close()`` unsubscribes and closes every child."""

    _refresher: Refresher | None = None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until pending automatic refreshes are done (scripts and tests)."""
        return self._refresher.wait_idle(timeout) if self._refresher is not None else True

    def close(self) -> None:
        """Stop following the experiment (unsubscribe) and close the widget's views."""
        if self._refresher is not None:
            self._refresher.close()
        for w in descendants(self):
            w.close()
        super().close()


def descendants(w: widgets.Widget) -> list[widgets.Widget]:
    """Every widget below ``w`` (children first)."""
    out = []
    for child in getattr(w, "children", ()):
        out.extend(descendants(child))
        out.append(child)
    return out
