"""The date-time formats shops export, and how to tell which one a column is written in.

The format table: epoch numbers (seconds, milliseconds, microseconds), Excel serial days, ISO
8601, compact 20111030, and the spreadsheet forms "10/30/2011 16:17", "30.10.2011",
"2011/10/30", "Oct 30, 2011", "30-Oct-2011" (seconds, fractions and AM/PM optional), each a
regex family whose named groups give its strptime pattern. `detect_plan` classifies a sample
of a column's distinct values and returns the column's Plan (its family and patterns, and for
numeric d/m/y dates the day/month order, from numbers above 12 or the separator's convention);
`formats_of` names the other formats of the values a plan could not read. The parsing of a
whole column, and what is reported about it, is `recdash.data.datetimes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUT_DTYPE = "datetime64[us, UTC]"  # the dtype of every parsed date-time
EPOCH_UNITS = {"s": ("epoch seconds", 1.0), "ms": ("epoch milliseconds", 1e3),
               "us": ("epoch microseconds", 1e6), "ns": ("epoch nanoseconds", 1e9)}

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


@dataclass(frozen=True)
class Plan:
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
            ok[idx] = strptime(uniq[idx], pattern).notna()
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


def detect_plan(text: pd.Series, order: str | None, sample: int) -> Plan | None:
    """The column's format, from a sample of its distinct values.

    Args:
        text: the column's values as text, without NA.
        order: "day-first" or "month-first" to read numeric d/m/y dates so; None decides from
            the data (a number above 12), else from the separator's convention.
        sample: how many distinct values to classify, spread over the column (when none of
            them shows the day/month order, every distinct value is looked at for it).

    Returns:
        The plan of the most common format among the values, or None when no known format fits.
    """
    uniq = pd.Series(text.unique(), dtype="string")
    if len(uniq) > sample:  # spread over the file: a format change late in it is seen too
        uniq = uniq.iloc[np.linspace(0, len(uniq) - 1, sample).astype(int)].reset_index(drop=True)
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
        return Plan("epoch", "epoch numbers")
    patterns = tuple(cls.loc[cls["family"] == family, "pattern"].value_counts().index)
    name = _FAMILY_NAMES.get(family) or _order_name(family)
    return Plan(family, name, patterns, evidence if family[:3] in ("dmy", "mdy") else "")


def strptime(text: pd.Series, pattern: str) -> pd.Series:
    """Text read with one strptime pattern (or "ISO8601") as UTC; NaT where it does not fit.

    Also reads what pandas refuses under the pattern: a " UTC" suffix on ISO 8601, and
    fractions finer than microseconds (cut to microseconds).
    """
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


def explicit_plan(option: str) -> Plan:
    """The plan for a time_format option that names the format (not "day-first" /
    "month-first", which only set the order of detected dates), as `check_time_format` gives it."""
    if option.startswith("epoch-"):
        unit = option.split("-", 1)[1]
        return Plan("epoch", EPOCH_UNITS[unit][0], (unit,))
    if option == "excel":
        return Plan("excel", "Excel serial day numbers", ("excel",))
    if option == "iso8601":
        return Plan("iso", _FAMILY_NAMES["iso"], ("ISO8601",))
    return Plan("pattern", "date-times", (option,))


def formats_of(text: pd.Series, plan: Plan, forced: bool) -> tuple[pd.Series, pd.Series]:
    """For values the plan could not read: the name of another format they are written in (NA
    when none), and where they are in the plan's format, the pattern to read them with.

    Args:
        text: the values.
        plan: the column's format.
        forced: the day/month order was given, so a d/m/y date is in the plan's format even
            where its numbers contradict it (then it is unreadable, not another format).

    Returns:
        (the other format's name, the pattern to read again with), each per value of `text`.
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
