"""What a process that does not stop is waiting on: every thread's stack and every asyncio task's
stack, to the log (``SIGUSR1`` at any time, and on its own when a shutdown overruns), and a
watchdog that ends a shutdown which is stuck past its bound (issue #15: a controller that did
not exit after SIGTERM although its calls had ended).

The watchdog is the last resort only: by then every live call has ended or been ended, and
everything a caller said is fsynced in the journals, so leaving without the remaining clean-up
loses nothing that the next start does not recover.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import threading
import traceback

log = logging.getLogger(__name__)

__all__ = ["describe_stacks", "install_dump_signal", "ExitWatchdog"]


def describe_stacks(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """Every thread's stack, then every pending task of ``loop`` with its stack."""
    out = io.StringIO()
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        out.write(f"--- thread {names.get(ident, '?')} ({ident})\n")
        out.write("".join(traceback.format_stack(frame)))
    if loop is not None:
        for task in asyncio.all_tasks(loop):
            if task.done():
                continue
            out.write(f"--- task {task.get_name()}: {task.get_coro()!r}\n")
            buf = io.StringIO()
            task.print_stack(limit=12, file=buf)
            out.write(buf.getvalue())
    return out.getvalue()


def install_dump_signal(loop: asyncio.AbstractEventLoop, sig: int | None = None) -> int | None:
    """Log :func:`describe_stacks` on ``sig`` (default ``SIGUSR1``); returns the signal
    installed, or None where signals cannot be handled (not the main thread, Windows)."""
    import signal

    chosen = sig if sig is not None else getattr(signal, "SIGUSR1", None)
    if chosen is None:
        return None
    try:
        loop.add_signal_handler(chosen, lambda: log.warning("stacks on request:\n%s", describe_stacks(loop)))
    except (NotImplementedError, RuntimeError, ValueError):
        return None
    return chosen


class ExitWatchdog:
    """Started when a shutdown begins: after ``dump_after_s`` it logs the stacks (what the
    shutdown waits on); after ``exit_after_s`` it ends the process with ``code``. A daemon
    thread: it works while the event loop is blocked, and after the loop has ended (threads
    the interpreter joins at exit)."""

    def __init__(self, dump_after_s: float, exit_after_s: float, *, code: int = 0,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.dump_after_s = dump_after_s
        self.exit_after_s = max(exit_after_s, dump_after_s)
        self.code = code
        self.loop = loop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="exit-watchdog", daemon=True)

    def start(self) -> ExitWatchdog:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._done.set()

    def _run(self) -> None:
        if self._done.wait(self.dump_after_s):
            return
        loop = self.loop if self.loop is not None and not self.loop.is_closed() else None
        try:
            stacks = describe_stacks(loop)
        except Exception:  # a task list that changes under us: threads only
            stacks = describe_stacks(None)
        log.error("shutdown still not finished after %.0f s; waiting on:\n%s", self.dump_after_s, stacks)
        if self._done.wait(self.exit_after_s - self.dump_after_s):
            return
        log.error("shutdown stuck for %.0f s: leaving now (calls are over; the journals are on disk)",
                  self.exit_after_s)
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:
                pass
        os._exit(self.code)
