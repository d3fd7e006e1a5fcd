"""Date-times as shops export them: find the column's format from the data, then parse it all.

`parse_datetimes` checks the time_format option, has `recdash.data.datetime_formats` detect
the column's format from a sample of its distinct values (the formats shops export, and
day-first or month-first from numbers above 12), parses the whole column with it in vectorised
`pd.to_datetime` calls, and reports what it read (info), what it had to assume (warning), a
column mixing formats or values it cannot read (errors), and implausible dates (warning: set to
empty). Times without a time zone are taken as UTC.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from recdash.data.datetime_formats import (EPOCH_UNITS, OUT_DTYPE, Plan, detect_plan,
                                           explicit_plan, formats_of, strptime)
from recdash.data.report import Finding, ValidationReport, examples_from, hints

SAMPLE = 2_000  # distinct values classified to detect the format
EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")  # earlier dates are export defaults, not events
FUTURE = pd.Timedelta(days=365)  # dates further than this after today are implausible
OPTIONS = ("day-first", "month-first", "iso8601", "epoch-s", "epoch-ms", "epoch-us", "excel")
_EXCEL_1970 = 25_569  # Excel's serial day number of 1970-01-01
_CLIP_S = 1e11  # epoch seconds are clipped to +-1e11 (years -1200..5138) before conversion


def time_format_hints(value: str = "day-first") -> dict[str, str]:
    """Where to choose the date format on each surface (the studio's choices begin with
    these labels: ui/upload.py's TIME_FORMATS)."""
    label = {"day-first": "Day first", "month-first": "Month first", "iso8601": "ISO 8601",
             "epoch-s": "Seconds since 1970", "epoch-ms": "Milliseconds since 1970"}.get(value)
    studio = (f"set 'Date format' above to '{label}'" if label else
              f"set 'Date format' above to 'Another pattern...' and type {value}")
    return hints(cli=f"--time-format {value}", studio=studio, python=f"time_format='{value}'")


def check_time_format(option: str | None) -> str | None:
    """The option in canonical form (None = detect).

    Raises:
        ValueError: the option is neither a known name nor a strptime pattern (message says so).
    """
    if option is None or not str(option).strip():
        return None
    text = str(option).strip()
    if "%" in text:
        try:
            pd.to_datetime(pd.Series(["2000"]), format=text, errors="coerce")
        except ValueError as exc:
            raise ValueError(f"the date format pattern '{text}' is not valid ({exc}); use one "
                             f"of {', '.join(OPTIONS)}, or a strptime pattern such as "
                             "'%d/%m/%Y %H:%M'") from exc
        return text
    key = text.lower().replace("_", "-").replace(" ", "-")
    if re.match(r"(d{1,2}|m{1,2})[/.\-]", key):  # written as dd/mm/yyyy or mm/dd/yyyy
        key = "day-first" if key.startswith("d") else "month-first"
    key = {"dayfirst": "day-first", "dmy": "day-first", "monthfirst": "month-first",
           "mdy": "month-first", "iso": "iso8601", "iso-8601": "iso8601", "epoch": "epoch-s",
           "unix": "epoch-s", "seconds": "epoch-s", "milliseconds": "epoch-ms"}.get(key, key)
    if key not in OPTIONS:
        raise ValueError(f"the date format '{text}' is not one of {', '.join(OPTIONS)}, nor a "
                         "strptime pattern with % codes such as '%d/%m/%Y %H:%M'")
    return key


def bad_time_format(exc: ValueError, file: str, column: str = "timestamp") -> Finding:
    """The error for a time_format option that `check_time_format` refused."""
    return Finding("error", "bad_time_format", str(exc), file=file, column=column,
                   fix="choose a listed format, or leave it empty to detect it",
                   how=time_format_hints())


def _epoch(text: pd.Series, unit: str | None) -> tuple[pd.Series, str]:
    """Epoch numbers (unit from the values' magnitude when None) or Excel days, as UTC."""
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    num = num.where(np.isfinite(num))
    if unit is None:  # the unit most values' magnitude fits (outliers are then implausible)
        size = num.abs()
        mid = float(size.median()) if num.notna().any() else 0.0
        units = pd.cut(size, [-1, 1e11, 1e14, 1e17, np.inf], labels=["s", "ms", "us", "ns"])
        unit = ("excel" if 20_000 <= mid <= 80_000 and size.max() < 100_000 else
                str(units.value_counts(sort=True).index[0]) if num.notna().any() else "s")
    if unit == "excel":
        seconds, label = (num - _EXCEL_1970) * 86_400.0, "Excel serial day numbers"
    else:
        label, scale = EPOCH_UNITS[unit]
        seconds = num / scale
    micros = (seconds.clip(-_CLIP_S, _CLIP_S) * 1e6).round()
    return pd.to_datetime(micros, unit="us", utc=True).astype(OUT_DTYPE), label


def _read(text: pd.Series, plan: Plan) -> tuple[pd.Series, str]:
    """Every value read with the plan's patterns in turn (NaT where none fits), and a label."""
    if plan.family in ("epoch", "excel"):
        return _epoch(text, plan.patterns[0] if plan.patterns else None)
    parsed = pd.Series(pd.NaT, index=text.index, dtype=OUT_DTYPE)
    todo = text
    for pattern in plan.patterns:
        parsed[todo.index] = strptime(todo, pattern)
        todo = text[parsed.isna()]
        if todo.empty:
            break
    shown = [p for p in plan.patterns if p != "ISO8601"][:3]
    return parsed, plan.name + (f" (pattern {' or '.join(shown)})" if shown else "")


def implausible(times: pd.Series) -> pd.Series:
    """Whether each date-time is before EARLIEST or more than FUTURE after today."""
    return (times < EARLIEST) | (times > pd.Timestamp.now(tz="UTC").normalize() + FUTURE)


def parse_datetimes(values: pd.Series, file: str, report: ValidationReport,
                    time_format: str | None = None, column: str = "timestamp", *,
                    keep_implausible: bool = False) -> pd.Series | None:
    """Parse a text column of date-times to UTC, detecting the format unless one is given.

    Args:
        values: text values, NA for empty (index = 0-based data row).
        file: the file name for messages.
        report: findings are added here.
        time_format: None to detect; "day-first" / "month-first" (detect, with that order for
            numeric dates); "iso8601"; "epoch-s" / "epoch-ms" / "epoch-us"; "excel" (serial
            days); or a strptime pattern such as "%d/%m/%Y %H:%M".
        column: the column's name for messages.
        keep_implausible: return implausible date-times as read (the caller orders events by
            them, then sets them to empty with `implausible`); else they are NaT.

    Returns:
        datetime64[us, UTC] values, NaT where empty or implausible; None (with an error in the
        report) when the option is invalid, the column mixes formats, or values cannot be read.
    """
    try:
        option = check_time_format(time_format)
    except ValueError as exc:
        report.add(bad_time_format(exc, file, column))
        return None
    present = values.notna()
    text = values[present].astype("string")
    if text.empty:
        out = pd.Series(pd.NaT, index=values.index, dtype=OUT_DTYPE)
        _missing(present, file, column, report)
        return out
    explicit = option is not None and option not in ("day-first", "month-first")
    plan = explicit_plan(option) if explicit else detect_plan(text, option, SAMPLE)
    if plan is None:
        _unreadable(values, present, file, column, "any known date format", report)
        return None
    parsed, label = _read(text, plan)
    if parsed.isna().any() and not explicit:
        parsed = _second_look(text, parsed, plan, option is not None, file, column, report)
        if parsed is None:
            return None
    bad = parsed.isna()
    if bad.any():
        _unreadable(values, present & values.index.isin(text.index[bad]), file, column, label,
                    report)
        return None
    _describe(plan, label, file, column, int(present.sum()), report, option)
    out = pd.Series(pd.NaT, index=values.index, dtype=OUT_DTYPE)
    out[text.index] = parsed
    bad = implausible(out)
    if bad.any():
        _report_implausible(out, bad, values, file, column, report)
        out = out if keep_implausible else out.mask(bad)
    _missing(present, file, column, report)
    return out


def _second_look(text: pd.Series, parsed: pd.Series, plan: Plan, forced: bool, file: str,
                 column: str, report: ValidationReport) -> pd.Series | None:
    """Values the detected format did not read: read another time variant of it (a value with
    seconds in a column without), or report the column as mixing formats (None)."""
    names, retry = formats_of(text[parsed.isna()], plan, forced)
    for pattern in pd.unique(retry.dropna()):
        rows = retry.index[retry == pattern]
        parsed[rows] = strptime(text[rows], pattern)
    other = names.notna() & parsed[names.index].isna()
    if not other.any():
        return parsed
    counts = {plan.name: int(parsed.notna().sum()), **names[other].value_counts().to_dict()}
    unread = int(parsed.isna().sum()) - int(other.sum())
    if unread:
        counts["not a date-time"] = unread
    by_format = names[other].groupby(names[other], sort=False).groups
    firsts = [(text.index[parsed.notna()][:1], plan.name)] + [
        (idx[:1], fmt) for fmt, idx in by_format.items()]
    examples = tuple({"row": int(idx[0]) + 1, column: str(text[idx[0]]), "format": fmt}
                     for idx, fmt in firsts if len(idx))
    report.add(Finding(
        "error", "mixed_timestamp_formats",
        f"the {column} column mixes {len(counts)} formats: " + "; ".join(
            f"{fmt}: {n:,}" for fmt, n in counts.items()), file=file, column=column,
        count=int(other.sum()), examples=examples[:6],
        fix="export the column again in one format, or choose the date format and correct the "
            "rows in other formats", how=time_format_hints(
                "month-first" if plan.family.startswith("mdy") else "day-first")))
    return None


def _describe(plan: Plan, label: str, file: str, column: str, count: int,
              report: ValidationReport, option: str | None) -> None:
    if plan.evidence == "assumed":
        order = "month-first" if plan.family.startswith("mdy") else "day-first"
        other = "day-first" if order == "month-first" else "month-first"
        report.add(Finding(
            "warning", "ambiguous_dates",
            f"every date fits both day-first and month-first (no number above 12 tells them "
            f"apart); they were read as {plan.name}: dates written with '/' are taken as "
            "month-first (as US exports and Excel in US English write them), with '.' or '-' "
            "as day-first", file=file, column=column, count=count,
            fix=f"if they are {other}, choose the date format", how=time_format_hints(other)))
    why = (f", as chosen (date format '{option}')" if option else
           f", decided from the data ({plan.evidence})"
           if plan.evidence and plan.evidence != "assumed" else "")
    report.add(Finding("info", "timestamp_format",
                       f"timestamps read as {label}{why}; times without a time zone are taken "
                       "as UTC", file=file, column=column, count=count))


def _report_implausible(out: pd.Series, bad: pd.Series, values: pd.Series, file: str,
                        column: str, report: ValidationReport) -> None:
    early = int((bad & (out < EARLIEST)).sum())
    parts = [f"{n:,} {what}" for n, what in (
        (early, f"before {EARLIEST:%Y-%m-%d}"),
        (int(bad.sum()) - early, "more than a year in the future")) if n]
    report.add(Finding(
        "warning", "implausible_timestamps",
        f"{int(bad.sum()):,} timestamp(s) are implausible ({', '.join(parts)}: export defaults "
        "such as 1900-01-01 or 9999-12-31, or a wrong unit); they were set to empty, and the "
        "events keep their place in time order", file=file, column=column,
        count=int(bad.sum()), examples=examples_from(values[bad].to_frame(column)),
        fix="correct these dates in the file, or check the date format"))


def _missing(present: pd.Series, file: str, column: str, report: ValidationReport) -> None:
    if (~present).any():
        n = int((~present).sum())
        report.add(Finding("warning", "missing_timestamps",
                           f"{n:,} event(s) have no timestamp; they keep their file position "
                           "within the user", file=file, column=column, count=n,
                           fix="fill in the timestamps if known"))


def _unreadable(values: pd.Series, bad: pd.Series, file: str, column: str, tried: str,
                report: ValidationReport) -> None:
    n = int(bad.sum())
    report.add(Finding(
        "error", "unparseable_timestamps",
        f"{n:,} timestamp(s) could not be read as {tried}", file=file, column=column, count=n,
        examples=examples_from(values[bad].to_frame(column)),
        fix="write the timestamps in one format the whole column through (ISO 8601 such as "
            "2024-05-01T13:45:00Z, epoch seconds, or dates such as 30/10/2011 16:17), or "
            "choose the date format", how=time_format_hints("'%d/%m/%Y %H:%M'")))
