"""The validation report: a value object listing what an import found, for people and programs.

Errors block an import; warnings and notes explain themselves with a count and example rows. The
CLI prints `format()`, `--json` prints `to_dict()`, and the studio renders the same object. A
finding's `fix` says what to do in plain words; its `how` says where to do it on each surface
(the command line, the studio, Python), so each surface shows its own hint.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning", "info"]
Surface = Literal["cli", "studio", "python"]
SURFACES: tuple[str, ...] = ("cli", "studio", "python")
MAX_EXAMPLES = 5
# Control characters (a terminal obeys ESC sequences; a line break splits one finding's line)
# and bidirectional overrides (they reorder what is shown): file names, column names and
# values quoted in messages come from the file, so they are shown as escapes.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters and bidirectional overrides written as escapes (\\x1b,
    \\u202e), safe to print on a terminal or a page."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


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
        how: per surface ("cli", "studio", "python"), where to apply the fix there (e.g.
            {"cli": "--map user_id=YourColumn", "studio": "choose its column under ..."}).
    """

    severity: Severity
    code: str
    message: str
    file: str = ""
    fix: str = ""
    count: int = 0
    column: str | None = None
    examples: tuple[dict, ...] = ()
    how: dict[str, str] = field(default_factory=dict)

    def fix_for(self, surface: str = "cli") -> str:
        """The fix, followed by the hint for `surface` when the finding has one."""
        hint = self.how.get(surface, "") if isinstance(self.how, dict) else ""
        if not hint:
            return self.fix
        return f"{self.fix} ({hint})" if self.fix else hint

    def text(self, surface: str = "cli") -> str:
        """One line: where, what was found, and the fix with the hint for `surface`."""
        where = self.file + (f" [{self.column}]" if self.column else "")
        fix = self.fix_for(surface)
        fix = f" Fix: {fix}" if fix else ""
        return printable(f"{where}: {self.message}.{fix}" if where else f"{self.message}.{fix}")

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        """A finding as stored by `asdict` (this or an older version: unknown keys are ignored,
        missing ones take their defaults)."""
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in known}
        kept.setdefault("severity", "info")
        kept.setdefault("code", "unknown")
        kept.setdefault("message", "")
        kept["examples"] = tuple(kept.get("examples") or ())
        kept["how"] = dict(kept["how"]) if isinstance(kept.get("how"), dict) else {}
        return cls(**kept)


def hints(cli: str = "", studio: str = "", python: str = "") -> dict[str, str]:
    """A finding's `how`: where to apply its fix on each surface (empty ones left out)."""
    return {k: v for k, v in (("cli", cli), ("studio", studio), ("python", python)) if v}


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

    def to_dict(self, surface: str = "cli") -> dict:
        """The report as JSON-friendly data; each finding keeps every surface's hint (`how`) and
        adds `hint`, the fix with the hint for `surface`."""
        return {"ok": self.ok, "stats": self.stats, "columns": self.columns,
                "findings": [{**asdict(f), "hint": f.fix_for(surface)} for f in self.findings]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    @classmethod
    def from_dict(cls, data: dict) -> "ValidationReport":
        """A report from `to_dict`, also one stored by an older version."""
        findings = [Finding.from_dict(f) for f in data.get("findings") or [] if isinstance(f, dict)]
        return cls(findings=findings, columns=dict(data.get("columns") or {}),
                   stats=dict(data.get("stats") or {}))

    def format(self, examples: bool = True, surface: str = "cli") -> str:
        """The report as plain text, with the hints for `surface` (a terminal by default)."""
        lines = ["Validation report: " + ("OK" if self.ok else f"{len(self.errors)} error(s)")
                 + f", {len(self.warnings)} warning(s)"]
        for file, cols in self.columns.items():
            lines.append(printable(f"Columns of {file}:"))
            lines.extend(printable(f"  {c}") for c in cols)
        if self.stats:
            lines.append("Data: " + ", ".join(
                f"{k}={v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k}={v}"
                for k, v in self.stats.items()))
        if self.stats.get("pseudonymised"):
            lines.append("Shopper IDs: pseudonymised (a keyed hash; the key is in the workspace)")
        for sev, label in (("error", "ERROR"), ("warning", "WARNING"), ("info", "NOTE")):
            for f in (x for x in self.findings if x.severity == sev):
                lines.append(f"{label} {f.code}: {f.text(surface)}")
                if examples:
                    lines.extend("    e.g. " + printable(json.dumps(e, default=str,
                                                              ensure_ascii=False))
                                 for e in f.examples[:3])
        return "\n".join(lines)
