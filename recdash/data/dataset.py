"""A dataset: the canonical interaction log and catalog, with the report of how they were read.

`prepare_dataset` is the one path from files (a shop's own, a public layout or the demo shop)
to a validated Dataset; the workspace stores what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recdash.data import schema as S
from recdash.data.public import read_public
from recdash.data.readers import Source, read_table
from recdash.data.report import Finding, ValidationReport
from recdash.data.splits import kcore_filter
from recdash.data.validation import (cross_check, normalise_catalog, normalise_interactions,
                                     summary_stats)
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
        return read_table(source, name, encoding=encoding)
    except DataFileError as exc:
        where = f" (row {exc.row})" if exc.row else ""
        report.add(Finding("error", exc.code, exc.problem + where, file=exc.file, fix=exc.fix,
                           column=exc.column))
        return None


def _empty(name: str, report: ValidationReport) -> None:
    report.add(Finding("error", "empty_file", "table has no rows", file=name,
                       fix="export the table again with its rows"))
    return None


def _source_name(source: object, fallback: str) -> str:
    return Path(source).name if isinstance(source, (str, Path)) else fallback


def prepare_dataset(name: str, interactions: Source | pd.DataFrame,
                    catalog: Source | pd.DataFrame | None = None, *,
                    mapping: S.ColumnMapping | None = None, interactions_name: str | None = None,
                    catalog_name: str | None = None, encoding: str = "utf-8",
                    default_event: str = S.VIEW, kcore: int = 0,
                    notes: list[str] | None = None) -> tuple[Dataset | None, ValidationReport]:
    """Read, map, parse and validate an interaction log and an optional catalog.

    Args:
        name: the dataset's name (used for the report only; the workspace checks it).
        interactions: a path, bytes, file object or DataFrame of the interaction log.
        catalog: the product catalog in the same forms, or None.
        mapping: column names and event labels the guesser should not guess.
        interactions_name, catalog_name: file names for messages when sources are bytes.
        encoding: text encoding of CSV/JSON sources.
        default_event: event type when the log has no event column.
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
    events, part = normalise_interactions(raw, inter_file, mapping.interactions, mapping.events,
                                          default_event)
    report.extend(part)
    items = None
    if raw_cat is not None:
        items, part = normalise_catalog(raw_cat, cat_file, mapping.catalog)
        report.extend(part)
    if not report.ok:
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
    items, part = cross_check(events, items, inter_file, cat_file)
    report.extend(part)
    report.stats.update(summary_stats(events, items))
    if kcore > 1:
        report.stats["kcore"] = kcore
    return Dataset(name, events, items, report), report


def prepare_public(name: str, path: str | Path, layout: str | None = None,
                   kcore: int = 0) -> tuple[Dataset | None, ValidationReport]:
    """prepare_dataset for a public benchmark folder (MovieLens, RecBole, sequence file)."""
    try:
        data = read_public(path, layout)
    except DataFileError as exc:
        report = ValidationReport()
        report.add(Finding("error", exc.code, exc.problem, file=exc.file, fix=exc.fix))
        return None, report
    return prepare_dataset(name, data.interactions, data.catalog,
                           interactions_name=data.files[0], catalog_name=data.files[1] or None,
                           default_event=data.default_event, kcore=kcore, notes=data.notes)
