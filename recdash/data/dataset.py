"""A dataset: the canonical interaction log and catalog, with the report of how they were read.

`prepare_dataset` is the one path from files (a shop's own, a public layout or the demo shop)
to a validated Dataset; the workspace stores what it returns. `cross_check` looks at the two
tables together and completes the catalog: with items seen only in the log, and with the
catalog columns a log carries on every line (titles and prices in an order export).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.catalog import clean_catalog, normalise_catalog
from recdash.data.public import read_public
from recdash.data.readers import Source, read_table
from recdash.data.report import Finding, ValidationReport, examples_from
from recdash.data.sessions import cut_sessions, sequence_kind
from recdash.data.splits import kcore_filter
from recdash.data.validation import normalise_log, summary_stats
from recdash.errors import DataFileError


def by_item(catalog: pd.DataFrame) -> pd.DataFrame:
    """A catalog indexed by item_id, one row per item (the first of a repeated ID).

    The one place that turns a catalog into a lookup table: titles, categories and prices of
    items by ID.
    """
    return catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)


@dataclass
class Dataset:
    """Canonical tables plus their validation report.

    Attributes:
        name: the workspace name.
        interactions: user_id, item_id, timestamp (UTC, NaT when unknown), event_type, [value];
            sorted by user then time.
        catalog: item_id, title, description, category, brand, price; one row per item,
            including items seen only in the interactions.
        report: what the import found.
    """

    name: str
    interactions: pd.DataFrame
    catalog: pd.DataFrame
    report: ValidationReport

    @property
    def products(self) -> pd.DataFrame:
        """The catalog indexed by item_id, one row per item (built once; do not modify)."""
        cached = self.__dict__.get("_products")
        if cached is None or cached[0] is not self.catalog:  # the catalog was replaced
            cached = (self.catalog, by_item(self.catalog))
            self.__dict__["_products"] = cached
        return cached[1]


def _read(source: Source | pd.DataFrame, name: str, encoding: str,
          report: ValidationReport) -> pd.DataFrame | None:
    if isinstance(source, pd.DataFrame):
        return source.astype("string") if len(source) else _empty(name, report)
    try:
        frame = read_table(source, name, encoding=encoding)
    except DataFileError as exc:
        where = f" (row {exc.row})" if exc.row else ""
        report.add(Finding("error", exc.code, exc.problem + where, file=exc.file, fix=exc.fix,
                           column=exc.column))
        return None
    for note in frame.attrs.get("notes", []):  # the file's real format, the sheet read, ...
        report.add(Finding("info", "reader_note", note, file=name))
    return frame


def _empty(name: str, report: ValidationReport) -> None:
    report.add(Finding("error", "empty_file", "table has no rows", file=name,
                       fix="export the table again with its rows"))
    return None


def _source_name(source: object, fallback: str) -> str:
    return Path(source).name if isinstance(source, (str, Path)) else fallback


def catalog_from_log(columns: pd.DataFrame, file: str,
                     report: ValidationReport) -> pd.DataFrame | None:
    """One catalog row per item from the catalog columns of an interaction log.

    Args:
        columns: item_id and the log's catalog fields, one row per kept event (index = row).
        file: the log's file name for messages.
        report: findings of reading the values are added here.

    Returns:
        The cleaned catalog (each field's most frequent value per item, the latest among
        equals), or None when the log has no catalog columns.
    """
    fields = [c for c in columns.columns if c != S.ITEM]
    if not fields or columns.empty:
        return None
    columns = columns.sort_index()  # file order
    first = columns.drop_duplicates(S.ITEM)
    out = pd.DataFrame({S.ITEM: first[S.ITEM]}, index=first.index)
    for col in fields:
        pairs = columns[[S.ITEM, col]].dropna().assign(_row=lambda t: t.index)
        best = pairs.groupby([S.ITEM, col], sort=False, observed=True)["_row"].agg(["size", "max"])
        best = best.reset_index().sort_values(["size", "max"], ascending=False, kind="stable")
        best = best.drop_duplicates(S.ITEM).set_index(S.ITEM)[col]
        out[col] = out[S.ITEM].map(best).astype("string")
    return clean_catalog(out, file, report, check_text=False)


def cross_check(events: pd.DataFrame, catalog: pd.DataFrame | None, events_file: str,
                catalog_file: str, from_log: pd.DataFrame | None = None
                ) -> tuple[pd.DataFrame, ValidationReport]:
    """Check the two tables together; returns the catalog completed with IDs seen only in the
    events, and with the log's own catalog values (`from_log`) where the catalog has none."""
    report = ValidationReport()
    seen = pd.Index(events[S.ITEM].unique())
    fields = [] if from_log is None else [c for c in S.CATALOG_OPTIONAL
                                          if from_log[c].notna().any()]
    built = catalog is None and bool(fields)
    if built:
        catalog = from_log[from_log[S.ITEM].isin(seen)].reset_index(drop=True)
        report.add(Finding("info", "catalog_from_log", f"no catalog given: the catalog of "
                           f"{len(catalog):,} items was built from the log's "
                           f"{', '.join(fields)} column(s), the most frequent value per item",
                           file=events_file, count=len(catalog)))
    if catalog is None:
        report.add(Finding("info", "no_catalog", "no catalog given: items are shown by ID, and "
                           "text features are unavailable", file=events_file))
        catalog = pd.DataFrame({S.ITEM: pd.array(seen, dtype="string")})
        for col in S.CATALOG_OPTIONAL:
            catalog[col] = (pd.Series(np.nan, index=catalog.index, dtype="float64")
                            if col == S.PRICE else
                            pd.Series(pd.NA, index=catalog.index, dtype="string"))
        return catalog, report
    missing = seen.difference(pd.Index(catalog[S.ITEM]))
    if len(missing):
        hit = events[S.ITEM].isin(missing)
        report.add(Finding(
            "warning", "items_missing_from_catalog",
            f"{int(hit.sum()):,} event(s) refer to {len(missing):,} item(s) missing from the "
            f"catalog {catalog_file}; they are kept and shown by ID", file=events_file,
            column=S.ITEM, count=int(hit.sum()), examples=examples_from(events[hit]),
            fix="add these items to the catalog, or check that both files use the same item IDs"))
        extra = pd.DataFrame({S.ITEM: pd.array(missing, dtype="string")})
        catalog = pd.concat([catalog, extra], ignore_index=True)
    if fields and not built:
        catalog = _complete(catalog, from_log, fields, events_file, report)
    return catalog, report


def _complete(catalog: pd.DataFrame, from_log: pd.DataFrame, fields: list[str], file: str,
              report: ValidationReport) -> pd.DataFrame:
    """The catalog with its empty fields filled from the log's catalog columns, where it has
    them."""
    by_id = from_log.drop_duplicates(S.ITEM).set_index(S.ITEM)
    filled = {}
    catalog = catalog.copy()
    for col in fields:
        gap = catalog[col].isna()
        values = catalog.loc[gap, S.ITEM].map(by_id[col])
        if values.notna().any():
            filled[col] = int(values.notna().sum())
            catalog.loc[gap, col] = values
    if filled:
        report.add(Finding("info", "catalog_from_log", "values missing from the catalog were "
                           "taken from the log (the most frequent value per item): " + ", ".join(
                               f"{col} of {n:,} item(s)" for col, n in filled.items()),
                           file=file, count=sum(filled.values())))
    return catalog


def prepare_dataset(name: str, interactions: Source | pd.DataFrame,
                    catalog: Source | pd.DataFrame | None = None, *,
                    mapping: S.ColumnMapping | None = None, interactions_name: str | None = None,
                    catalog_name: str | None = None, encoding: str = "utf-8",
                    default_event: str | None = None, time_format: str | None = None,
                    session_gap: float | None = None, kcore: int = 0,
                    notes: list[str] | None = None) -> tuple[Dataset | None, ValidationReport]:
    """Read, map, parse and validate an interaction log and an optional catalog.

    Args:
        name: the dataset's name (used for the report only; the workspace checks it).
        interactions: a path, bytes, file object or DataFrame of the interaction log.
        catalog: the product catalog in the same forms, or None.
        mapping: column names and event labels the guesser should not guess.
        interactions_name, catalog_name: file names for messages when sources are bytes.
        encoding: text encoding of CSV/JSON sources.
        default_event: event type when the log has no event column (view, cart or purchase);
            None: purchase when the log looks like an order export (a quantity or an order
            number column), else view.
        time_format: how the log writes timestamps: None to detect; "day-first",
            "month-first", "iso8601", "epoch-s", "epoch-ms", "epoch-us", "excel", or a strptime
            pattern such as "%d/%m/%Y %H:%M" (see `recdash.data.datetimes`).
        session_gap: cut each shopper's events into sessions at this many minutes without an
            event (None: one sequence per user_id; see `recdash.data.sessions`).
        kcore: keep only users and items with at least this many events (0 = keep all).
        notes: facts about the source to add to the report.

    Returns:
        (the Dataset, or None when the report has errors; the report).
    """
    mapping = mapping or S.ColumnMapping()
    report = ValidationReport()
    inter_file = interactions_name or _source_name(interactions, "interactions")
    cat_file = catalog_name or _source_name(catalog, "catalog")
    for note in notes or []:
        report.add(Finding("info", "source", note, file=inter_file))
    raw = _read(interactions, inter_file, encoding, report)
    raw_cat = _read(catalog, cat_file, encoding, report) if catalog is not None else None
    if not report.ok:
        return None, report
    events, from_log, part = normalise_log(raw, inter_file, mapping.interactions, mapping.events,
                                           default_event, time_format=time_format)
    report.extend(part)
    if events is not None and from_log is not None:
        from_log = catalog_from_log(from_log, inter_file, report)
    items = None
    if raw_cat is not None:
        supplied = () if from_log is None else tuple(
            c for c in S.CATALOG_OPTIONAL if from_log[c].notna().any())
        items, part = normalise_catalog(raw_cat, cat_file, mapping.catalog, supplied=supplied)
        report.extend(part)
    if not report.ok:
        return None, report
    if session_gap is not None:
        events = cut_sessions(events, session_gap, inter_file, report)
        if events is None:
            return None, report
    if kcore > 1:
        events, removed = kcore_filter(events, kcore)
        share = removed["events"] / max(1, removed["events"] + len(events))
        report.add(Finding("warning", "kcore_loss", f"the {kcore}-core filter removed "
                           f"{removed['events']:,} events ({share:.1%}), {removed['users']:,} "
                           f"users and {removed['items']:,} items", file=inter_file,
                           count=removed["events"],
                           fix="lower the k-core threshold to keep more data" if share > 0.2
                           else ""))
        events = events.reset_index(drop=True)
        if events.empty:
            report.add(Finding("error", "kcore_empty", f"no events survive a {kcore}-core filter",
                               file=inter_file, fix="lower the k-core threshold"))
            return None, report
    items, part = cross_check(events, items, inter_file, cat_file, from_log)
    report.extend(part)
    report.stats.update(summary_stats(events, items))
    report.stats["sequences"] = sequence_kind(report.columns.get(inter_file, []),
                                              session_gap is not None)
    if kcore > 1:
        report.stats["kcore"] = kcore
    return Dataset(name, events, items, report), report


def prepare_public(name: str, path: str | Path, layout: str | None = None,
                   kcore: int = 0, session_gap: float | None = None
                   ) -> tuple[Dataset | None, ValidationReport]:
    """prepare_dataset for a public benchmark folder (MovieLens, RecBole, sequence file);
    `session_gap` cuts its users' events into sessions as for a shop's log."""
    try:
        data = read_public(path, layout)
    except DataFileError as exc:
        report = ValidationReport()
        report.add(Finding("error", exc.code, exc.problem, file=exc.file, fix=exc.fix))
        return None, report
    return prepare_dataset(name, data.interactions, data.catalog,
                           interactions_name=data.files[0], catalog_name=data.files[1] or None,
                           default_event=data.default_event, kcore=kcore, notes=data.notes,
                           session_gap=session_gap)
