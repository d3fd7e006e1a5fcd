"""Exceptions recdash raises at its boundaries.

Each says what is wrong, where (file, row, column, value) and how to fix it, so that the CLI and
the studio can show the message as it is.
"""

from __future__ import annotations


class RecdashError(Exception):
    """Base class: an error a user can act on (bad input, wrong settings, missing data)."""


class DataFileError(RecdashError):
    """A file cannot be read as a table.

    Attributes:
        file: the file's name as the user gave it.
        problem: what is wrong.
        fix: what to do about it.
        row: 1-based line/row number where the problem is, when known.
        column: the column concerned, when known.
        code: a stable identifier for the report (e.g. "empty_file", "undecodable_bytes").
    """

    def __init__(self, file: str, problem: str, fix: str, row: int | None = None,
                 column: str | None = None, code: str = "unreadable_file") -> None:
        self.file, self.problem, self.fix, self.row, self.column = file, problem, fix, row, column
        self.code = code
        where = file + (f", row {row}" if row is not None else "") + (
            f", column '{column}'" if column is not None else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class ValidationError(RecdashError):
    """An import was blocked by errors in its validation report (attribute `report`)."""

    def __init__(self, report) -> None:  # report: recdash.data.report.ValidationReport
        self.report = report
        errors = report.errors
        lines = [f"{len(errors)} error(s) block the import:"] + [f"  - {e.text()}" for e in errors]
        super().__init__("\n".join(lines))


class NotFittedError(RecdashError):
    """A model was asked to score before `fit` was called."""


class CapacityError(RecdashError):
    """A model refuses a problem too large for it, naming the limit and what to use instead."""


class SettingError(RecdashError):
    """A setting of a run (a model's or training's config, the split, the dataset) is invalid.

    Attributes:
        field: the setting's name, as `Config.field` (e.g. "TrainConfig.lr").
        value: the value given.
        rule: what a valid value looks like, and so how to fix it.
    """

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field, self.value, self.rule = field, value, rule
        super().__init__(f"setting {field} = {value!r} is not valid: {rule}")
