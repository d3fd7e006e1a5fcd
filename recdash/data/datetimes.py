"""Date-times as shops export them: find the column's format from the data, then parse it all.

Exports write date-times as epoch numbers (seconds, milliseconds, microseconds), Excel serial
days, ISO 8601, compact 20111030, or the spreadsheet forms "10/30/2011 16:17", "30.10.2011",
"2011/10/30", "Oct 30, 2011", "30-Oct-2011" (seconds, fractions and AM/PM optional).
`parse_datetimes` classifies a sample of distinct values to find the column's format (day-first
or month-first from numbers above 12), parses the whole column with it in vectorised
`pd.to_datetime` calls, and reports what it read (info), what it had to assume (warning), a
column mixing formats or values it cannot read (errors), and implausible dates (warning: set to
empty). Times without a time zone are taken as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data.report import Finding, ValidationReport, examples_from, hints

SAMPLE = 2_000  # distinct values classified to detect the format
EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")  # earlier dates are export defaults, not events
FUTURE = pd.Timedelta(days=365)  # dates further than this after today are implausible
OPTIONS = ("day-first", "month-first", "iso8601", "epoch-s", "epoch-ms", "epoch-us", "excel")
OUT_DTYPE = "datetime64[us, UTC]"
_EPOCH_UNITS = {"s": ("epoch seconds", 1.0), "ms": ("epoch milliseconds", 1e3),
                "us": ("epoch microseconds", 1e6), "ns": ("epoch nanoseconds", 1e9)}
_EXCEL_1970 = 25_569  # Excel's serial day number of 1970-01-01
_CLIP_S = 1e11  # epoch seconds are clipped to +-1e11 (years -1200..5138) before conversion

_TIME = (r"(?:(?P<TS>T|\s+|,\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<F>\.\d{1,9})?)?"
         r"(?P<PS>\s?)(?P<P>[AaPp][Mm])?)?")
_PATTERNS = {  # family -> regex of one value (named groups give the strptime pattern)
    "compact": r"^(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$",
    "epoch": r"^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$",
    "iso": r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
           r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?$",
    "ymd": r"^(?P<y>\d{4})(?P<sep>[/.\-])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})" + _TIME + "$",
    "num": r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME + "$",
    "monthname": r"^(?P<mon>[A-Za-z]{3,9})(?P<dot>\.?)\s(?P<d>\d{1,2})(?P<comma>,?)\s"
                 r"(?P<y>\d{4})" + _TIME + "$",
    "dayname": r"^(?P<d>\d{1,2})(?P<sep>[\s\-])(?P<mon>[A-Za-z]{3,9})(?P<dot>\.?)(?P=sep)"
               r"(?P<y>\d{4}|\d{2})" + _TIME + "$",
}
_FAMILY_NAMES = {"compact": "compact dates like 20111030", "epoch": "epoch numbers",
                 "iso": "ISO 8601 date-times", "monthname": "month-name dates like Oct 30, 2011",
                 "dayname": "day and month-name dates like 30 Oct 2011"}


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


@dataclass(frozen=True)
class _Plan:
    """How to read one column: a family and its strptime patterns, most common first."""

    family: str  # "epoch", "excel", "iso", "compact", "ymd/", "dmy/", "mdy.", "monthname", ...
    name: str  # for messages
    patterns: tuple[str, ...] = ()  # "ISO8601" for iso; unit for epoch
    evidence: str = ""  # why a day/month order was chosen; "assumed" when nothing shows it


def _order_name(family: str) -> str:
    sep = family[3:]
    if family.startswith("dmy"):
        return f"day-first dates like 30{sep}10{sep}2011"
    if family.startswith("mdy"):
        return f"month-first dates like 10{sep}30{sep}2011"
    return f"year-first dates like 2011{sep}10{sep}30"


def _time_part(m: pd.DataFrame) -> pd.Series:
    ampm = m["P"].notna()
    pat = (m["TS"].fillna("") + pd.Series(np.where(ampm, "%I", "%H"), index=m.index) + ":%M"
           + pd.Series(np.where(m["S"].notna(), ":%S", ""), index=m.index)
           + pd.Series(np.where(m["F"].notna(), ".%f", ""), index=m.index)
           + m["PS"].fillna("").where(ampm, "") + pd.Series(np.where(ampm, "%p", ""),
                                                              index=m.index))
    return pat.where(m["H"].notna(), "")


def _classify(uniq: pd.Series) -> pd.DataFrame:
    """Family, strptime pattern and day/month evidence of each distinct value.

    A numeric d/m/y date's family is "dmy" + separator when its first number is above 12,
    "mdy" + separator when its second one is, else "num" + separator (its pattern is then
    month-first; it reads the same either way).

    Returns:
        Columns family (NA when no format fits), pattern, evidence ("day" / "month" / "").
    """
    out = pd.DataFrame({"family": pd.Series(pd.NA, index=uniq.index, dtype="object"),
                        "pattern": "", "evidence": ""})
    for family, regex in _PATTERNS.items():
        todo = out["family"].isna()
        hit = uniq[todo].str.fullmatch(regex).fillna(False).astype(bool)
        idx = hit.index[hit.to_numpy()]
        if not len(idx):
            continue
        fam, pattern = pd.Series(family, index=idx, dtype="object"), None
        if family in ("compact", "iso"):
            pattern = "%Y%m%d" if family == "compact" else "ISO8601"
        elif family != "epoch":
            m = uniq[idx].str.extract(regex).astype(object)
            year = pd.Series(np.where(m["y"].str.len() == 4, "%Y", "%y"), index=idx)
            if family == "ymd":
                fam, pattern = "ymd" + m["sep"], year + m["sep"] + "%m" + m["sep"] + "%d"
            elif family == "num":
                day, month = m["a"].astype(int) > 12, m["b"].astype(int) > 12
                out.loc[idx, "evidence"] = np.where(day, "day", np.where(month, "month", ""))
                fam = pd.Series(np.where(day, "dmy", np.where(month, "mdy", "num")),
                                index=idx) + m["sep"]
                pattern = _reorder("%m" + m["sep"] + "%d" + m["sep"] + year, day)
            else:
                mon = pd.Series(np.where(m["mon"].str.len() == 3, "%b", "%B"), index=idx)
                pattern = (mon + m["dot"] + " %d" + m["comma"] + " %Y" if family == "monthname"
                           else "%d" + m["sep"] + mon + m["dot"] + m["sep"] + year)
            pattern = pattern + _time_part(m)
        out.loc[idx, "family"] = fam
        out.loc[idx, "pattern"] = "" if pattern is None else pattern
    return out


def _valid(uniq: pd.Series, cls: pd.DataFrame) -> pd.Series:
    """Whether each classified value really is a date-time under its own pattern."""
    ok = pd.Series(False, index=uniq.index)
    for pattern, idx in cls[cls["family"].notna()].groupby("pattern", sort=False).groups.items():
        if pattern:
            ok[idx] = _strptime(uniq[idx], pattern).notna()
        else:  # epoch numbers
            ok[idx] = np.isfinite(pd.to_numeric(uniq[idx], errors="coerce").astype("float64"))
    return ok


def _reorder(patterns: pd.Series, day_first: pd.Series | bool) -> pd.Series:
    """Numeric d/m/y patterns with the day first where `day_first`, else the month first."""
    swapped = patterns.str.replace("%d", "\0").str.replace("%m", "%d").str.replace("\0", "%m")
    return patterns.where(patterns.str.startswith("%d") == day_first, swapped)


def _order(cls: pd.DataFrame, order: str | None, text: pd.Series) -> tuple[pd.Series, str]:
    """The day/month order of numeric d/m/y dates ("dmy" / "mdy" per row) and why."""
    sep = cls["family"].str[3:]
    if order is not None:
        return pd.Series("dmy" if order == "day-first" else "mdy", index=cls.index), ""
    day, month = (int((cls["evidence"] == e).sum()) for e in ("day", "month"))
    if not (day or month) and text.nunique() > len(cls):  # the sample shows none: look at all
        every = _classify(pd.Series(text.unique(), dtype="string"))
        day, month = (int((every["evidence"] == e).sum()) for e in ("day", "month"))
    if day or month:
        prefix = "dmy" if day >= month else "mdy"
        why = (f"{day:,} date(s) have a first number above 12" if prefix == "dmy" else
               f"{month:,} date(s) have a second number above 12")
        return pd.Series(prefix, index=cls.index), why
    return pd.Series(np.where(sep == "/", "mdy", "dmy"), index=cls.index), "assumed"


def _plan(text: pd.Series, order: str | None) -> _Plan | None:
    """The column's format from a sample of its distinct values (None: no known format fits)."""
    uniq = pd.Series(text.unique(), dtype="string")
    if len(uniq) > SAMPLE:  # spread over the file: a format change late in it is seen too
        uniq = uniq.iloc[np.linspace(0, len(uniq) - 1, SAMPLE).astype(int)].reset_index(drop=True)
    cls = _classify(uniq)
    cls = cls[_valid(uniq, cls)]
    if cls.empty:
        return None
    numeric = cls["family"].str[:3].isin(["num", "dmy", "mdy"])
    evidence = ""
    if numeric.any():
        prefix, evidence = _order(cls[numeric], order, text)
        cls.loc[numeric, "pattern"] = _reorder(cls.loc[numeric, "pattern"], prefix == "dmy")
        cls.loc[numeric, "family"] = prefix + cls.loc[numeric, "family"].str[3:]
    family = cls["family"].value_counts().index[0]
    if family == "epoch":
        return _Plan("epoch", "epoch numbers")
    patterns = tuple(cls.loc[cls["family"] == family, "pattern"].value_counts().index)
    name = _FAMILY_NAMES.get(family) or _order_name(family)
    return _Plan(family, name, patterns, evidence if family[:3] in ("dmy", "mdy") else "")


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
        label, scale = _EPOCH_UNITS[unit]
        seconds = num / scale
    micros = (seconds.clip(-_CLIP_S, _CLIP_S) * 1e6).round()
    return pd.to_datetime(micros, unit="us", utc=True).astype(OUT_DTYPE), label


def _strptime(text: pd.Series, pattern: str) -> pd.Series:
    parsed = pd.to_datetime(text, format=pattern, errors="coerce", utc=True).astype(OUT_DTYPE)
    bad = text.notna() & parsed.isna()
    if bad.any():  # what pandas refuses: a " UTC" suffix in ISO 8601 (BigQuery writes it), and
        # nanosecond fractions, which limit the range to 1677-2262 (microseconds reach 9999)
        fixed = text[bad].str.replace(r"(\.\d{6})\d+", r"\1", regex=True)
        if pattern == "ISO8601":
            fixed = fixed.str.replace(r"\s?(?:UTC|GMT)$", "Z", regex=True)
        changed = fixed != text[bad]
        if changed.any():
            again = pd.to_datetime(fixed[changed], format=pattern, errors="coerce", utc=True)
            parsed[again.index] = again.astype(OUT_DTYPE)
    return parsed


def _read(text: pd.Series, plan: _Plan) -> tuple[pd.Series, str]:
    """Every value read with the plan's patterns in turn (NaT where none fits), and a label."""
    if plan.family in ("epoch", "excel"):
        return _epoch(text, plan.patterns[0] if plan.patterns else None)
    parsed = pd.Series(pd.NaT, index=text.index, dtype=OUT_DTYPE)
    todo = text
    for pattern in plan.patterns:
        parsed[todo.index] = _strptime(todo, pattern)
        todo = text[parsed.isna()]
        if todo.empty:
            break
    shown = [p for p in plan.patterns if p != "ISO8601"][:3]
    return parsed, plan.name + (f" (pattern {' or '.join(shown)})" if shown else "")


def _explicit(option: str) -> _Plan:
    if option.startswith("epoch-"):
        unit = option.split("-", 1)[1]
        return _Plan("epoch", _EPOCH_UNITS[unit][0], (unit,))
    if option == "excel":
        return _Plan("excel", "Excel serial day numbers", ("excel",))
    if option == "iso8601":
        return _Plan("iso", _FAMILY_NAMES["iso"], ("ISO8601",))
    return _Plan("pattern", "date-times", (option,))


def _formats_of(text: pd.Series, plan: _Plan, forced: bool) -> tuple[pd.Series, pd.Series]:
    """For values the plan could not read: the name of another format they are written in (NA
    when none), and where they are in the plan's format, the pattern to read them with.

    Args:
        text: the values.
        plan: the column's format.
        forced: the day/month order was given, so a d/m/y date is in the plan's format even
            where its numbers contradict it (then it is unreadable, not another format).
    """
    uniq = pd.Series(text.unique(), dtype="string")
    cls = _classify(uniq)
    valid = _valid(uniq, cls)
    fam = cls["family"]
    if plan.family[:3] in ("dmy", "mdy"):  # an undecided d/m/y date follows the plan's order
        sep = plan.family[3:]
        same = fam.isin(["num" + sep] + (["dmy" + sep, "mdy" + sep] if forced else []))
        fam = fam.where(~same, plan.family)
        cls["pattern"] = cls["pattern"].where(~same, _reorder(cls["pattern"],
                                                              plan.family.startswith("dmy")))
    fam = _settle(fam)
    name = fam.map(lambda f: _FAMILY_NAMES.get(f) or _order_name(f) if isinstance(f, str) else f)
    name = name.where(valid & (fam != plan.family), pd.NA)
    retry = cls["pattern"].where((fam == plan.family) & (cls["pattern"] != ""), pd.NA)
    keys = uniq.to_numpy(dtype=object)
    return (text.map(dict(zip(keys, name.to_numpy(dtype=object)))).astype("object"),
            text.map(dict(zip(keys, retry.to_numpy(dtype=object)))).astype("object"))


def _settle(fam: pd.Series) -> pd.Series:
    """Undecided d/m/y families ("num" + separator) given the order the other values with that
    separator show, else the separator's convention (as `_order` decides), so that a message
    names them as month-first or day-first dates, not as a format of their own."""
    known = fam.dropna().astype(str)
    for sep in known[known.str.startswith("num")].str[3:].unique():
        day, month = int(fam.isin(["dmy" + sep]).sum()), int(fam.isin(["mdy" + sep]).sum())
        prefix = (("dmy" if day >= month else "mdy") if day or month
                  else "mdy" if sep == "/" else "dmy")
        fam = fam.where(~fam.isin(["num" + sep]), prefix + sep)
    return fam


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
    plan = _explicit(option) if explicit else _plan(text, option)
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


def _second_look(text: pd.Series, parsed: pd.Series, plan: _Plan, forced: bool, file: str,
                 column: str, report: ValidationReport) -> pd.Series | None:
    """Values the detected format did not read: read another time variant of it (a value with
    seconds in a column without), or report the column as mixing formats (None)."""
    names, retry = _formats_of(text[parsed.isna()], plan, forced)
    for pattern in pd.unique(retry.dropna()):
        rows = retry.index[retry == pattern]
        parsed[rows] = _strptime(text[rows], pattern)
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


def _describe(plan: _Plan, label: str, file: str, column: str, count: int,
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
