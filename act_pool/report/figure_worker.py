"""A second process that draws figures while the first writes the other reports.

:class:`FigureWorker` starts ``python -m act_pool.report.figure_worker``. The new process imports
matplotlib and the figure code at once, so when it is started before the run (as ``act-pool run``
does) that start-up cost overlaps the computation. It then reads one pickle from standard input,
``(result, folder, names, rc)``, and writes the figures ``names`` of ``result`` into ``folder``
(:func:`act_pool.report.figures.save_figures`) under the matplotlib settings ``rc``, in two
processes where it can fork (:func:`draw_figures`); it exits with status 0 when every file is
written, or doing nothing when its input is closed empty.
"""
from __future__ import annotations

import gc
import importlib
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from act_pool.run import Result


#: Whether the second process splits its figures with a copy of itself (:func:`draw_figures`): on
#: Linux. (macOS has fork, but some of its system libraries are unsafe after it; Windows has none.)
CAN_FORK = sys.platform.startswith("linux")
#: The figures the copy draws: about half of the drawing time on the default scenario.
COPY_FIGURES = ("pooled_flows", "bank_by_state")


def spare_cpu() -> bool:
    """Whether a second process would find a CPU of its own: more than one CPU usable by this
    process and fewer other runnable processes than CPUs less one. On a busy machine the second
    process only competes with this one and costs its start-up time.

    Other runnable processes are counted now where the system says (Linux: ``/proc/loadavg``),
    else estimated by the one-minute load average, which lags behind by about a minute.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return cpus > 1 and _other_runnable() < cpus - 1


def _other_runnable() -> float:
    """Runnable processes other than this one: now (Linux) or on average over the last minute."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return float(fh.read().split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        pass
    try:
        return max(os.getloadavg()[0] - 1, 0.0)
    except (AttributeError, OSError):  # not available on this system
        return 0.0


class FigureWorker:
    """The second process: start it early, give it its figures once with :meth:`draw`, then
    :meth:`wait` for them; :meth:`close` (or leaving a ``with`` block) ends it in any state."""

    #: Whether the process draws its figures in two processes (:data:`CAN_FORK`): it then takes
    #: them all, while the first process writes the workbook.
    forks = CAN_FORK

    def __init__(self) -> None:
        # The process sees this one's import path, so it finds the same act-pool (a notebook's too);
        # its errors are not shown: the figures it fails to write are drawn here (see wait()).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen([sys.executable, "-m", "act_pool.report.figure_worker"],
                                         stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._names: list[str] = []
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls) -> "FigureWorker | None":
        """A new process when a CPU is spare (:func:`spare_cpu`) and one can be started, else None."""
        if not spare_cpu():
            return None
        try:
            return cls()
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


def main() -> None:
    """Draw the figures named on standard input (nothing, when the input is empty); exit status 1
    when one was not written."""
    import matplotlib as mpl

    importlib.import_module("act_pool.report.figures")  # now, while the first process computes
    gc.freeze()  # the modules stay for the process's life: keep them out of the collections (see cli.console)
    data = sys.stdin.buffer.read()
    if not data:
        return
    result, folder, names, rc = pickle.loads(data)
    with mpl.rc_context(rc):
        written = draw_figures(result, folder, names)
    gc.freeze()
    if not written:
        sys.exit(1)


if __name__ == "__main__":
    main()
