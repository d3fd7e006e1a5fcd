"""Cell values as shops export them: numbers with currency and separators, IDs, text, categories.

Exports write prices as "12,99 €", "€1.299,99", "1,299.99" or "$ 5"; IDs with NUL bytes or
zero-width spaces; blank titles as spaces; category paths as "a > > b" or "a/b". Each function
here reads one column the same way everywhere (prices, values and quantities share
`parse_numbers`), never misreads silently, and reports what it found and what it did with a
count and example rows. Work is done on the column's distinct values with pandas string
operations, so a million rows cost little more than their distinct values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recdash.data.report import Finding, ValidationReport, examples_from
from recdash.data.schema import CATEGORY_JOIN

MAX_TEXT = 10_000  # characters kept of a title, description or brand
_CURRENCY = (r"(?:[A-Z]{1,2}\$|\$|€|£|¥|₹|₽|₩|₺|₪|₫|฿|zł|Kč|(?<![A-Za-z])(?i:EUR|USD|GBP|CHF|JPY|"
             r"CNY|SEK|NOK|DKK|PLN|CZK|HUF|INR|AUD|CAD|NZD|BRL|MXN|ZAR|TRY|kr\.?)(?![A-Za-z]))")
_SPACES = r"[\s\u00a0\u2007\u202f\u2009']"  # also thousands separators: 1 299,00 / 1'299.00
_INVISIBLE = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
_ZERO_WIDTH = r"[\u200b-\u200f\u2060-\u2064\ufeff]"
_NON_FINITE = r"(?i)[+-]?(?:inf|infinity|nan|∞)"
_EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
_PLURAL = {"price": "prices", "value": "values", "quantity": "quantities"}

# Shapes of a number once currency, spaces and sign are gone ("1,299" is ambiguous: 1299 in
# English, 1.299 in German; "12,99" and "1.299,99" are not).
_DOT_DECIMAL = r"\d*\.\d+|[1-9]\d{0,2}(?:,\d{3})+\.\d*|[1-9]\d{0,2}(?:,\d{3}){2,}"
_COMMA_DECIMAL = r"\d*,\d+|[1-9]\d{0,2}(?:\.\d{3})+,\d*|[1-9]\d{0,2}(?:\.\d{3}){2,}"
_AMBIGUOUS = r"[1-9]\d{0,2}[.,]\d{3}"
_SCIENTIFIC = r"\d+(?:\.\d+)?[eE][+-]?\d+"


class _Distinct:
    """A column's distinct values, to work on them once and spread the results over the rows."""

    def __init__(self, values: pd.Series) -> None:
        codes, uniques = pd.factorize(values)  # missing values get the code -1
        self.codes, self.index = codes, values.index
        self.values = pd.Series(uniques, dtype="string")
        self.weight = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)))

    def spread(self, result: pd.Series, missing: object = np.nan) -> pd.Series:
        """Per-distinct-value results as one value per row (`missing` where the row is NA)."""
        taken = result.to_numpy()[np.maximum(self.codes, 0)] if len(result) else np.full(
            len(self.codes), missing, dtype=object)
        return pd.Series(np.where(self.codes >= 0, taken, missing), index=self.index)


def _number_shapes(core: pd.Series) -> pd.DataFrame:
    """Per distinct cleaned text: which decimal separator it shows, if any."""
    def fits(regex: str) -> pd.Series:
        return core.str.fullmatch(regex).fillna(False).astype(bool)

    ambiguous = fits(_AMBIGUOUS)
    return pd.DataFrame({"dot": fits(_DOT_DECIMAL) & ~ambiguous,
                         "comma": fits(_COMMA_DECIMAL) & ~ambiguous, "plain": fits(r"\d+"),
                         "ambiguous": ambiguous, "scientific": fits(_SCIENTIFIC)})


def parse_numbers(values: pd.Series, file: str, column: str, report: ValidationReport, *,
                  kind: str = "price", negative: str = "empty") -> pd.Series:
    """Read a text column of numbers: decimal comma or point, thousands separators, currency.

    The decimal separator of "1,299" or "1.299" (one separator, three digits after it) is taken
    from the rest of the column; when nothing there shows it, "." is the decimal separator
    (the English reading) and a warning says so.

    Args:
        values: text values, NA for empty (index = 0-based data row).
        file: the file name for messages.
        column: the column's canonical name for messages.
        report: findings are added here.
        kind: "price", "value" or "quantity": names the finding codes (bad_prices, ...).
        negative: "empty" to set negative numbers to empty with a warning, "keep" to keep them.

    Returns:
        float64 numbers, NaN where empty or unreadable.
    """
    plural = _PLURAL.get(kind, kind + "s")
    col = _Distinct(values)
    distinct, weight = col.values, col.weight
    currency = distinct.str.extract("(" + _CURRENCY + ")", expand=False)
    core = distinct.str.replace(_CURRENCY, "", regex=True).str.replace(_SPACES, "", regex=True)
    bracketed = core.str.fullmatch(r"\(.*\)").fillna(False)
    core = core.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    minus = core.str.match(r"^[-−–]").fillna(False) | core.str.endswith("-").fillna(False)
    core = core.str.replace(r"^[+\-−–]|-$", "", regex=True)
    shapes = _number_shapes(core)
    dots, commas = int(weight[shapes["dot"]].sum()), int(weight[shapes["comma"]].sum())
    comma_decimal = shapes["comma"] | (shapes["ambiguous"] & (commas > 0) & (dots == 0))
    plain = core.where(comma_decimal, core.str.replace(",", "", regex=False))
    plain = plain.where(~comma_decimal, core.str.replace(".", "", regex=False).str.replace(
        ",", ".", regex=False))
    readable = shapes[["dot", "comma", "plain", "ambiguous", "scientific"]].any(axis=1)
    number = pd.to_numeric(plain.where(readable), errors="coerce").astype("float64")
    number = number.where(~(minus | bracketed), -number)
    non_finite = core.str.fullmatch(_NON_FINITE).fillna(False) | (
        readable & ~np.isfinite(number.fillna(0.0)))
    # a shape that looked like a number but did not parse (e.g. Arabic-Indic digits, which
    # `\d` matches): not a number, said so, never a silent NaN
    readable = readable & (number.notna() | non_finite)
    number = number.where(np.isfinite(number))
    out = col.spread(number).astype("float64")
    row_of = {name: col.spread(flag.astype(bool), False).astype(bool) for name, flag in (
        ("non_finite", non_finite), ("bad", ~readable & ~non_finite),
        ("ambiguous", shapes["ambiguous"]))}

    def warn(code: str, mask: pd.Series, message: str, fix: str) -> None:
        n = int(mask.sum())
        report.add(Finding("warning", code, f"{n:,} {message}", file=file, column=column, count=n,
                           examples=examples_from(values[mask].to_frame(column)), fix=fix))

    if row_of["bad"].any():
        warn(f"bad_{plural}", row_of["bad"], f"{kind}(s) are not numbers and were set to empty",
             "write numbers such as 19.99, 19,99 or 1.299,00 €")
    if row_of["non_finite"].any():
        warn(f"non_finite_{plural}", row_of["non_finite"], f"{kind}(s) are infinite or 'not a "
             "number' (inf, NaN, 1e999) and were set to empty", "write real numbers, or "
             "leave the cell empty when it is unknown")
    if negative == "empty" and (out < 0).any():
        warn(f"negative_{plural}", out < 0, f"{kind}(s) are negative and were set to empty",
             f"a {kind} cannot be negative: correct these rows")
        out = out.mask(out < 0)
    if row_of["ambiguous"].any() and (dots == 0) == (commas == 0):
        warn(f"ambiguous_{plural}", row_of["ambiguous"], f"{kind}(s) such as '1,299' or "
             "'1.299' could be read two ways, and the column "
             + ("uses both '.' and ',' as decimal separator" if dots else
                "shows no decimal separator elsewhere") + "; they were read with '.' as the "
             "decimal separator and ',' for thousands ('1,299' = 1299, '1.299' = 1.299)",
             "write the decimals (1,299.00 or 1.299,00), or no thousands separator")
    _note_format(distinct, currency, weight, dots, commas, file, column, kind, report)
    return out


def _note_format(distinct: pd.Series, currency: pd.Series, weight: pd.Series, dots: int,
                 commas: int, file: str, column: str, kind: str, report: ValidationReport) -> None:
    symbols = list(dict.fromkeys(currency.dropna().str.strip()))
    if not (commas or symbols or distinct.str.contains(r"\d[ ,.'\u00a0]\d{3}\b").fillna(
            False).any()):
        return  # plain numbers: nothing to say
    sep = ("','" if commas and not dots else "'.'" if not commas
           else f"both '.' ({dots:,} values) and ',' ({commas:,} values)")
    found = f"; currency symbol(s) removed: {', '.join(symbols[:5])}" if symbols else ""
    count = int(weight[currency.notna()].sum()) if symbols else 0
    plural = _PLURAL.get(kind, kind + "s")  # "quantities", not "quantitys"
    report.add(Finding("info", "number_format", f"{plural} read with {sep} as the decimal "
                       f"separator{found}", file=file, column=column, count=count))


def clean_ids(values: pd.Series, file: str, column: str, report: ValidationReport) -> pd.Series:
    """IDs without control characters (NUL bytes, zero-width spaces, line breaks ...).

    IDs that are empty afterwards become NA (and are dropped later as missing IDs).
    """
    col = _Distinct(values)
    found = col.values.str.contains(_INVISIBLE, regex=True).fillna(False).astype(bool)
    if not found.any():
        return values
    hit = col.spread(found, False).astype(bool)
    cleaned = col.values.str.replace(_INVISIBLE, "", regex=True).str.strip()
    cleaned = col.spread(cleaned.mask(cleaned == ""), pd.NA).astype("string")
    n = int(hit.sum())
    examples = tuple({"row": int(i) + 1, column: ascii(str(values[i]))[1:-1],
                      "now": None if pd.isna(cleaned[i]) else str(cleaned[i])}
                     for i in values.index[hit][:5])
    report.add(Finding("warning", "control_characters_in_ids",
                       f"{n:,} {column} value(s) contained invisible control characters (NUL "
                       "bytes, zero-width spaces, line breaks); they were removed, and IDs left "
                       "empty count as missing", file=file, column=column, count=n,
                       examples=examples, fix="export the IDs again as plain text"))
    return cleaned


def check_email_ids(users: pd.Series, file: str, column: str, report: ValidationReport) -> None:
    """Warn when IDs are e-mail addresses (personal data); they are kept as they are."""
    head = users.dropna().head(1000)
    if head.empty or head.str.fullmatch(_EMAIL).fillna(False).mean() < 0.5:
        return
    mails = users.str.fullmatch(_EMAIL).fillna(False).astype(bool)
    n = int(mails.sum())
    report.add(Finding("warning", "email_user_ids", f"{n:,} {column} value(s) are e-mail "
                       "addresses: personal data, stored as they are in the workspace and shown "
                       "on the pages", file=file, column=column, count=n,
                       fix="replace them with pseudonymous IDs (a customer number or a hash) "
                           "before importing"))


def clean_text(values: pd.Series, file: str, column: str,
               report: ValidationReport) -> pd.Series:
    """Text with blank values (spaces, no-break or zero-width spaces only) as missing, and
    values over MAX_TEXT characters cut to MAX_TEXT."""
    visible = values.str.replace(_ZERO_WIDTH, "", regex=True).str.strip()
    blank = values.notna() & (visible == "").fillna(False)
    out = values.mask(blank)
    if blank.any():
        n = int(blank.sum())
        report.add(Finding("info", "blank_text", f"{n:,} {column} value(s) hold only spaces or "
                           "invisible characters; they count as missing", file=file,
                           column=column, count=n))
    long = (out.str.len() > MAX_TEXT).fillna(False).astype(bool)
    if long.any():
        n = int(long.sum())
        shown = out[long].str.slice(0, 60) + "..."
        report.add(Finding("warning", "long_text", f"{n:,} {column} value(s) are longer than "
                           f"{MAX_TEXT:,} characters (longest {int(out.str.len().max()):,}); "
                           f"they were cut to {MAX_TEXT:,}", file=file, column=column, count=n,
                           examples=examples_from(shown.to_frame(column)),
                           fix=f"check the column is the right one; keep {column}s short"))
        out = out.where(~long, out.str.slice(0, MAX_TEXT))
    return out


_SEPARATORS = (">", "|", "/")  # a path's separator: the first of these it contains
_SEP_RUN = r"\s*{0}(?:\s*{0})*\s*"


def normalise_categories(values: pd.Series, file: str, column: str,
                         report: ValidationReport) -> pd.Series:
    """Category paths as "Dept > Sub > Leaf", whatever separator and spacing the file used.

    Each path's separator is the first of '>', '|', '/' it contains; empty levels ("a > > b",
    "> a", "a//b") are dropped. Malformed paths and a column mixing separators give a warning;
    a consistent other separator or spacing is a note.
    """
    col = _Distinct(values)
    distinct = col.values
    if distinct.empty:
        return values
    sep = pd.Series(pd.NA, index=distinct.index, dtype="object")
    for char in _SEPARATORS:
        sep = sep.where(sep.notna() | ~distinct.str.contains(char, regex=False).fillna(False),
                        char)
    out = distinct.copy()
    malformed = pd.Series(False, index=distinct.index)
    for char in _SEPARATORS:
        mine = sep == char
        if not mine.any():
            continue
        esc = "\\" + char if char in "|/" else char
        part = distinct[mine]
        empty_level = part.str.contains(rf"^\s*{esc}|{esc}\s*$|{esc}\s*{esc}", regex=True)
        malformed[mine] = empty_level.fillna(False).to_numpy()
        joined = part.str.replace(_SEP_RUN.format(esc), CATEGORY_JOIN, regex=True)
        out[mine] = joined.str.replace(r"^(?: > )+|(?: > )+$", "", regex=True).str.strip()
    out = out.mask(out == "")
    used = sorted(set(sep.dropna()), key=_SEPARATORS.index)
    changed = (out != distinct).fillna(True)
    if not changed.any():
        return values
    result = col.spread(out, pd.NA).astype("string")
    rows = col.spread(changed.astype(bool), False).astype(bool)
    bad_rows = col.spread(malformed.astype(bool), False).astype(bool)
    n = int(rows.sum())
    shown = pd.DataFrame({column: values[rows], "now": result[rows]})
    if bad_rows.any() or len(used) > 1:
        why = []
        if bad_rows.any():
            why.append(f"{int(bad_rows.sum()):,} have empty levels ('a > > b', '> a', 'a//b')")
        if len(used) > 1:
            why.append("the column mixes the separators " + ", ".join(f"'{c}'" for c in used))
        report.add(Finding("warning", "malformed_categories",
                           f"{n:,} category path(s) were normalised to 'a > b': "
                           + "; ".join(why), file=file, column=column, count=n,
                           examples=examples_from(shown), fix="write category paths as "
                           "'Dept > Sub > Leaf', with one separator the whole column through"))
    else:
        report.add(Finding("info", "categories_normalised",
                           f"{n:,} category path(s) were rewritten as 'a > b' (the file "
                           f"separates levels with '{used[0]}')" if used and used[0] != ">" else
                           f"{n:,} category path(s) had their spacing normalised to 'a > b'",
                           file=file, column=column, count=n, examples=examples_from(shown)))
    return result
