"""A second process that draws figures while the first writes the other reports.

:class:`FigureWorker` starts ``python -m act_pool.report.figure_worker``. The new process imports
matplotlib and the figure code at once, so when it is started before the run (as ``act-pool run``
does) that start-up cost overlaps the computation. It then reads one pickle from standard input,
``(result, folder, names, rc)``, and writes the figures ``names`` of ``result`` into ``folder``
(:func:`act_pool.report.figures.save_figures`) under the matplotlib settings ``rc``; it exits with
status 0 when every file is written, or doing nothing when its input is closed empty.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from act_pool.run import Result


def spare_cpu() -> bool:
    """Whether a second process would find a CPU of its own: more than one CPU usable by this
    process and fewer runnable processes (the one-minute load average) than CPUs. On a busy
    machine the second process only competes with this one and costs its start-up time."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this system
        load = 0.0
    return cpus > 1 and load + 1 <= cpus


class FigureWorker:
    """The second process: start it early, give it its figures once with :meth:`draw`, then
    :meth:`wait` for them; :meth:`close` (or leaving a ``with`` block) ends it in any state."""

    def __init__(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "act_pool.report.figure_worker"],
                                         stdin=subprocess.PIPE)
        self._names: list[str] = []

    def draw(self, result: "Result", folder: Path, names: list[str], rc: dict[str, Any]) -> None:
        """Send the figures to draw (into ``folder``, under the matplotlib settings ``rc``)."""
        self._names = list(names)
        with self._process.stdin:
            pickle.dump((result, folder, self._names, rc), self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)

    def wait(self) -> None:
        """Wait until the figures are written.

        Raises
        ------
        RuntimeError
            If the process failed.
        """
        if self._process.wait() != 0:
            raise RuntimeError(f"drawing the figures {', '.join(self._names)} failed "
                               f"(status {self._process.returncode})")

    def close(self) -> None:
        """End the process: at once (killed) if it is still running, as when the run failed."""
        if self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def __enter__(self) -> "FigureWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    """Draw the figures named on standard input (nothing, when the input is empty)."""
    import matplotlib as mpl

    from act_pool.report.figures import save_figures

    data = sys.stdin.buffer.read()
    if not data:
        return
    result, folder, names, rc = pickle.loads(data)
    with mpl.rc_context(rc):
        save_figures(result, folder, names=names)


if __name__ == "__main__":
    main()
