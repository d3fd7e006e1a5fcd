"""The validation report: a value object listing what an import found, for people and programs.

Errors block an import; warnings and notes explain themselves with a count and example rows. The
CLI prints `format()`, `--json` prints `to_dict()`, and the studio renders the same object.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning", "info"]
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One thing the validator found.

    Attributes:
        severity: "error" blocks the import; "warning" and "info" do not.
        code: a stable identifier (e.g. "missing_column", "duplicate_events").
        message: what was found, in words, with the count.
        file: the file it concerns.
        fix: what to do about it ("" for notes that need no action).
        count: how many rows/items/users are affected.
        column: the column concerned, if any.
        examples: up to MAX_EXAMPLES example rows as dicts (with their 1-based row number).
    """

    severity: Severity
    code: str
    message: str
    file: str = ""
    fix: str = ""
    count: int = 0
    column: str | None = None
    examples: tuple[dict, ...] = ()

    def text(self) -> str:
        where = self.file + (f" [{self.column}]" if self.column else "")
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.message}.{fix}" if where else f"{self.message}.{fix}"


def examples_from(frame: pd.DataFrame, limit: int = MAX_EXAMPLES) -> tuple[dict, ...]:
    """Example rows as JSON-friendly dicts, with the file's 1-based data row number as `row`."""
    out = []
    for idx, rec in frame.head(limit).iterrows():
        row = {"row": int(idx) + 1}
        row.update({str(k): (None if pd.isna(v) else v if isinstance(v, (int, float, str, bool))
                             else str(v)) for k, v in rec.items()})
        out.append(row)
    return tuple(out)


@dataclass
class ValidationReport:
    """Everything an import found, in the order found.

    Attributes:
        findings: errors, warnings and notes.
        columns: per file, the lines saying which column was taken for which field.
        stats: headline counts of the normalised data (users, items, events, ...).
    """

    findings: list[Finding] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, object] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, other: "ValidationReport") -> None:
        self.findings.extend(other.findings)
        self.columns.update(other.columns)
        self.stats.update(other.stats)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "info"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import."""
        return not self.errors

    def codes(self, severity: Severity | None = None) -> list[str]:
        return [f.code for f in self.findings if severity is None or f.severity == severity]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "stats": self.stats, "columns": self.columns,
                "findings": [asdict(f) for f in self.findings]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    @classmethod
    def from_dict(cls, data: dict) -> "ValidationReport":
        findings = [Finding(**{**f, "examples": tuple(f.get("examples", ()))})
                    for f in data.get("findings", [])]
        return cls(findings=findings, columns=dict(data.get("columns", {})),
                   stats=dict(data.get("stats", {})))

    def format(self, examples: bool = True) -> str:
        """The report as plain text for a terminal."""
        lines = ["Validation report: " + ("OK" if self.ok else f"{len(self.errors)} error(s)")
                 + f", {len(self.warnings)} warning(s)"]
        for file, cols in self.columns.items():
            lines.append(f"Columns of {file}:")
            lines.extend(f"  {c}" for c in cols)
        if self.stats:
            lines.append("Data: " + ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
                                              for k, v in self.stats.items()))
        for sev, label in (("error", "ERROR"), ("warning", "WARNING"), ("info", "NOTE")):
            for f in (x for x in self.findings if x.severity == sev):
                lines.append(f"{label} {f.code}: {f.text()}")
                if examples:
                    lines.extend(f"    e.g. {json.dumps(e, default=str)}" for e in f.examples[:3])
        return "\n".join(lines)
