"""A second process that draws figures while the first writes the other reports.

:class:`FigureWorker` starts the second process: from the command line on Linux, a copy of this
one (:func:`os.fork`, :class:`ForkedProcess`), which has every module this one imported; otherwise
``python -m act_pool.report.figure_worker``. Either imports matplotlib and the figure code at once,
so when it is started before the run (as ``act-pool run`` does) that cost overlaps the computation.
It then reads one pickle from its pipe, ``(result, folder, names, rc)``, and writes the figures
``names`` of ``result`` into ``folder`` (:func:`act_pool.report.figures.save_figures`) under the
matplotlib settings ``rc``, in two processes where it can fork (:func:`draw_figures`); it exits
with status 0 when every file is written, or doing nothing when its input is closed empty
(:func:`serve`).
"""
from __future__ import annotations

import gc
import importlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from act_pool.run import Result


#: Whether the second process is a copy of this one and splits its figures with a copy of itself
#: (:func:`draw_figures`): on Linux. (macOS has fork, but some of its system libraries are unsafe
#: after it; Windows has none.)
CAN_FORK = sys.platform.startswith("linux")
#: Scheduling priority the forked second process gives up (:func:`os.nice`): the first process,
#: writing the workbook, keeps a CPU of its own, and the figures share the other until it is done.
NICENESS = 10
#: The figures the copy draws: about half of the drawing time on the default scenario.
COPY_FIGURES = ("pooled_flows", "bank_by_state")


def spare_cpu() -> bool:
    """Whether a second process would find a CPU of its own: more than one CPU usable by this
    process and fewer other runnable processes than CPUs less one. On a busy machine the second
    process only competes with this one and costs its start-up time.

    Other runnable processes are counted now where the system says (Linux: ``/proc/loadavg``,
    :func:`_other_runnable`), else estimated by the one-minute load average, which lags behind by
    about a minute.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return cpus > 1 and _other_runnable() < cpus - 1


#: Readings of the run queue :func:`_other_runnable` takes, and the pause between two.
RUN_QUEUE_READINGS = 3
RUN_QUEUE_PAUSE_S = 0.0005


def _other_runnable() -> float:
    """Runnable processes other than this one: now (Linux) or on average over the last minute.

    Now is the least of :data:`RUN_QUEUE_READINGS` readings half a millisecond apart: a process
    that keeps a CPU busy is in every one, while one runnable for an instant (a kernel thread, the
    process that started this one finishing) is in few. One reading alone found such a passer-by
    in about one start in twenty on an idle 2-CPU machine, and the run then drew every figure
    itself, taking half as long again.
    """
    readings = []
    for i in range(RUN_QUEUE_READINGS):
        if i:
            time.sleep(RUN_QUEUE_PAUSE_S)
        try:
            with open("/proc/loadavg", encoding="ascii") as fh:
                readings.append(float(fh.read().split()[3].split("/")[0]) - 1)
        except (OSError, IndexError, ValueError):
            break
    if readings:
        return min(readings)
    try:
        return max(os.getloadavg()[0] - 1, 0.0)
    except (AttributeError, OSError):  # not available on this system
        return 0.0


class FigureWorker:
    """The second process: start it early, give it its figures once with :meth:`draw`, then
    :meth:`wait` for them; :meth:`close` (or leaving a ``with`` block) ends it in any state."""

    #: Whether the process draws its figures in two processes (:data:`CAN_FORK`, however it was
    #: started): it then takes them all, while the first process writes the workbook.
    forks = CAN_FORK

    def __init__(self, fork: bool = False) -> None:
        """``fork``: a copy of this process (:class:`ForkedProcess`, where :data:`CAN_FORK`), for a
        process that starts it before it has threads of its own, as the command line does; else a
        new interpreter (a notebook's kernel, for one, runs threads a copy would lack)."""
        # Its errors are not shown: the figures it fails to write are drawn here (see wait()).
        if fork and CAN_FORK:
            self._process: subprocess.Popen | ForkedProcess = ForkedProcess()
        else:
            # A new interpreter: it sees this one's import path, so it finds the same act-pool
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            self._process = subprocess.Popen([sys.executable, "-m", "act_pool.report.figure_worker"],
                                             stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._names: list[str] = []
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls, fork: bool = False) -> "FigureWorker | None":
        """A new process (``fork``: see :class:`FigureWorker`) when a CPU is spare (:func:`spare_cpu`)
        and one can be started, else None."""
        if not spare_cpu():
            return None
        try:
            return cls(fork=fork)
        except OSError:
            return None

    def draw(self, result: "Result", folder: Path, names: list[str], rc: dict[str, Any]) -> None:
        """Send the figures to draw (into ``folder``, under the matplotlib settings ``rc``).

        Returns at once: a thread feeds the pipe while the process may still be importing.
        """
        self._names = list(names)
        payload = pickle.dumps((result, folder, self._names, rc), protocol=pickle.HIGHEST_PROTOCOL)
        self._sender = threading.Thread(target=self._send, args=(payload,), daemon=True)
        self._sender.start()

    def _send(self, payload: bytes) -> None:
        try:
            with self._process.stdin:
                self._process.stdin.write(payload)
        except BrokenPipeError:  # the process ended early; wait() reports its status
            pass

    def wait(self) -> bool:
        """Wait for the process; whether it wrote every figure it was given."""
        if self._sender is not None:
            self._sender.join()
        return self._process.wait() == 0

    def close(self) -> None:
        """End the process: at once (killed) if it is still running, as when the run failed."""
        if self._process.poll() is None:
            self._process.kill()
        if self._sender is not None:
            self._sender.join()
        elif self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()
        self._process.wait()

    def __enter__(self) -> "FigureWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def draw_figures(result: "Result", folder: Path, names: list[str]) -> bool:
    """Write the figures ``names`` of ``result`` into ``folder``; whether every one was written.

    Where :data:`CAN_FORK`, a copy of this process (matplotlib and the result already in memory:
    a copy costs milliseconds) draws those of :data:`COPY_FIGURES` while this one draws the others,
    the operating system sharing the CPUs between them and the process writing the workbook. Each
    file is the same bytes as when drawn alone. A copy that fails exits with status 1 (its error is
    lost; the caller draws the figures again and sees it).
    """
    from act_pool.report.figures import save_figures

    copied = [n for n in names if n in COPY_FIGURES]
    here = [n for n in names if n not in COPY_FIGURES]
    if not (CAN_FORK and copied and here):
        save_figures(result, folder, names=names)
        return True
    gc.freeze()  # the copy's collections then leave the objects it shares with this process alone
    pid = os.fork()
    if pid == 0:  # the copy: draw its figures and end at once (no clean-up of what it shares)
        status = 1
        try:
            save_figures(result, folder, names=copied)
            status = 0
        finally:
            os._exit(status)
    save_figures(result, folder, names=here)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def serve(pipe: IO[bytes]) -> int:
    """The second process's work: import the figure code, read ``(result, folder, names, rc)`` from
    ``pipe`` and draw (:func:`draw_figures`); the exit status (0: every figure written, or nothing
    given; 1: one was not written)."""
    import matplotlib as mpl

    importlib.import_module("act_pool.report.figures")  # now, while the first process computes
    gc.freeze()  # the modules stay for the process's life: keep them out of the collections (see cli.console)
    data = pipe.read()
    if not data:
        return 0
    result, folder, names, rc = pickle.loads(data)
    with mpl.rc_context(rc):
        written = draw_figures(result, folder, names)
    gc.freeze()
    return 0 if written else 1


class ForkedProcess:
    """A copy of this process as the second process (Linux): it has every module this one has
    imported, so it is ready as soon as it has imported matplotlib. The part of
    :class:`subprocess.Popen` that :class:`FigureWorker` uses: ``stdin`` (its pipe), ``poll``,
    ``kill``, ``wait``. The copy's output goes to the null device; it ends without the
    interpreter's clean-up (:func:`os._exit`), which belongs to this process.

    Python 3.12 and later warn when a process with threads forks: a thread holding a lock at that
    moment leaves it held in the copy. Started by the command line before the run, this process's
    only threads are the memory allocator's and the linear algebra library's (both prepare for
    fork), and the copy takes no lock of this program's but the import lock, which Python resets in
    it; so that warning is silenced here.
    """

    def __init__(self) -> None:
        read, write = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            os.close(write)
            _serve_copy(read)
        os.close(read)
        self.pid = pid
        self.stdin = os.fdopen(write, "wb")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status, or None while it runs."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        """End it at once."""
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # already ended, not yet waited for
                pass

    def wait(self) -> int:
        """Wait for it to end; its exit status."""
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


def _serve_copy(read: int) -> NoReturn:
    """The forked copy's life (see :class:`ForkedProcess`)."""
    status = 1
    try:
        os.nice(NICENESS)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        with os.fdopen(read, "rb") as pipe:
            status = serve(pipe)
    finally:
        os._exit(status)


def main() -> None:
    """``python -m act_pool.report.figure_worker``: :func:`serve` on standard input."""
    sys.exit(serve(sys.stdin.buffer))


if __name__ == "__main__":
    main()
