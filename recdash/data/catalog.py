"""Turn a shop's raw product catalog into recdash's canonical catalog, with findings.

`normalise_catalog` maps a catalog file's columns (`validation.map_columns`, shared with the
interaction log), says which optional fields are missing and what the import loses without
them, and hands the columns to `clean_catalog`. `clean_catalog` cleans IDs and text, normalises
category paths (`recdash.data.values`), parses prices, drops exact repeated rows and refuses an
item ID given twice with different data; `dataset.catalog_from_log` also calls it for the
catalog columns a log carries. Each adds findings to a ValidationReport; errors mean the result
must not be stored.
"""

from __future__ import annotations

import pandas as pd

from recdash.data import schema as S
from recdash.data import values as V
from recdash.data.report import Finding, ValidationReport, examples_from
from recdash.data.validation import map_columns, map_hints

_LOST = {  # what an import without each catalog field cannot do
    S.TITLE: "no title: products are shown by ID, and search and text features have no names",
    S.DESCRIPTION: "no description: text features read titles only",
    S.CATEGORY: "no category: category filters, mixes and diversity by category are off",
    S.BRAND: "no brand: brand facets and features are off",
    S.PRICE: "no price: price filters and price features are off",
}

_FREE_TEXT = (S.TITLE, S.DESCRIPTION, S.BRAND, S.CATEGORY)  # catalog text `clean_text` checks


def normalise_catalog(raw: pd.DataFrame, file: str, mapping: dict[str, str] | None = None, *,
                      supplied: tuple[str, ...] = ()) -> tuple[pd.DataFrame | None,
                                                               ValidationReport]:
    """Canonical catalog (one row per item, every optional column present) with findings.

    Args:
        raw: the file as read by `read_table`.
        file: the file name for messages.
        mapping: canonical -> the file's column, for columns the guesser would miss.
        supplied: optional fields the interaction log provides (not reported as missing).

    Returns:
        (the catalog, or None on errors; the report).
    """
    report = ValidationReport()
    frame, guess = map_columns(raw, file, S.CATALOG_REQUIRED + S.CATALOG_OPTIONAL,
                               S.CATALOG_REQUIRED, mapping, report, "catalog",
                               keep_blank=_FREE_TEXT)
    if frame is None:
        return None, report
    if guess.unused:
        report.columns[file].append(f"not used: {', '.join(guess.unused)}")
    absent = [c for c in S.CATALOG_OPTIONAL if c not in guess.mapping and c not in supplied]
    if absent:
        report.add(Finding(
            "warning", "missing_catalog_columns", f"the catalog has no {', '.join(absent)} "
            f"column: " + "; ".join(_LOST[c] for c in absent), file=file, count=len(absent),
            column=", ".join(absent), fix="map a column to it if the file has one",
            how=map_hints(absent[0], "catalog")))
    frame = clean_catalog(frame, file, report, check_text=S.TITLE in guess.mapping
                          or S.DESCRIPTION in guess.mapping)
    return (None if frame is None else frame.reset_index(drop=True)), report


def clean_catalog(frame: pd.DataFrame, file: str, report: ValidationReport, *,
                  check_text: bool = True) -> pd.DataFrame | None:
    """Catalog columns cleaned and checked: IDs, text, category paths, prices, repeated items.

    Args:
        frame: item_id and any of the optional catalog fields, as text (index = data row).
        file: the file name for messages.
        report: findings are added here.
        check_text: warn about items with neither title nor description.

    Returns:
        item_id and every optional field (price as float64), or None when an item ID is on
        several rows with different data (an error).
    """
    frame = frame.copy()
    for col in S.CATALOG_OPTIONAL:
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame[S.ITEM] = V.clean_ids(frame[S.ITEM], file, S.ITEM, report)
    for col in _FREE_TEXT:
        frame[col] = V.clean_text(frame[col].astype("string"), file, col, report)
    frame[S.CATEGORY] = V.normalise_categories(frame[S.CATEGORY], file, S.CATEGORY, report)
    frame[S.PRICE] = V.parse_numbers(frame[S.PRICE].astype("string"), file, S.PRICE, report)
    frame = frame[frame[S.ITEM].notna()]
    exact = frame.duplicated(keep="first")
    if exact.any():
        report.add(Finding("info", "duplicate_catalog_rows", f"{int(exact.sum()):,} exact "
                           "duplicate catalog row(s) were dropped", file=file,
                           count=int(exact.sum())))
        frame = frame[~exact]
    clash = frame.duplicated(S.ITEM, keep=False)
    if clash.any():
        n_items = frame.loc[clash, S.ITEM].nunique()
        report.add(Finding(
            "error", "duplicate_item_ids",
            f"{n_items:,} item ID(s) appear on several rows with different data", file=file,
            column=S.ITEM, count=n_items,
            examples=examples_from(frame[clash].sort_values(S.ITEM, kind="stable")),
            fix="keep one row per item ID (which title/price is right is the shop's call)"))
        return None
    no_text = frame[S.TITLE].isna() & frame[S.DESCRIPTION].isna()
    if check_text and no_text.any():
        report.add(Finding("warning", "items_without_text", f"{int(no_text.sum()):,} item(s) have "
                           "neither title nor description; text-based features and search "
                           "cannot describe them", file=file, column=S.TITLE,
                           count=int(no_text.sum()), examples=examples_from(frame[no_text]),
                           fix="add titles to the catalog"))
    return frame[[S.ITEM, *S.CATALOG_OPTIONAL]]
