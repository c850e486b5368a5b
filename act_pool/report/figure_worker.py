"""The second process of :func:`act_pool.report.write.write_reports`: draws some figures.

Reads one pickle from standard input, ``(result, folder, names, rc)``, and writes the figures
``names`` of ``result`` into ``folder`` (:func:`act_pool.report.figures.save_figures`) under the
matplotlib settings ``rc``. Run as ``python -m act_pool.report.figure_worker``; exits with status
0 when every file is written.
"""
from __future__ import annotations

import pickle
import sys

import matplotlib as mpl

from act_pool.report.figures import save_figures


def main() -> None:
    """Draw the figures named on standard input."""
    result, folder, names, rc = pickle.load(sys.stdin.buffer)
    with mpl.rc_context(rc):
        save_figures(result, folder, names=names)


if __name__ == "__main__":
    main()
