"""Exception types that separate a user's mistake from a defect in act-pool."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One input problem: where it is and what was expected.

    Attributes
    ----------
    file : str
        The file the problem is in (as the user named it).
    row : int or None
        1-based data row of a table (the header is row 0), or None for a whole-file problem.
    field : str or None
        The column or key at fault.
    message : str
        What is wrong and what was expected.
    """

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class InputError(Exception):
    """The scenario, a table or a rule-set override is invalid.

    Carries every problem found, so a planner can fix them all at once. The command line turns
    it into exit status 2 with one line per problem on standard error.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConservationError(RuntimeError):
    """Credits were created or lost by the solver: an internal defect, never a user mistake."""
