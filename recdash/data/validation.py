"""Turn a shop's raw tables into recdash's canonical tables, reporting everything found on the way.

`normalise_interactions` and `normalise_catalog` map columns, parse timestamps (ISO 8601, epoch
seconds or milliseconds, detected), map event labels, and check the data; `cross_check` looks at
the two together. Each returns findings for the ValidationReport; errors mean the result must not
be stored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.report import Finding, ValidationReport, examples_from

LONG_SEQUENCE = 1000  # events per user above which a sequence is reported as very long

EPOCH_MS_ABOVE = 1e11  # an epoch in seconds reaches 1e11 only in the year 5138


def _map_columns(raw: pd.DataFrame, file: str, wanted: tuple[str, ...], required: tuple[str, ...],
                 given: dict[str, str] | None, report: ValidationReport) -> pd.DataFrame | None:
    try:
        guess = S.guess_columns(list(raw.columns), wanted, given)
    except KeyError as exc:
        report.add(Finding("error", "unknown_column", exc.args[0], file=file,
                           fix="map the field to one of the file's columns"))
        return None
    report.columns[file] = guess.describe() + (
        [f"not used: {', '.join(guess.unused)}"] if guess.unused else [])
    missing = [c for c in required if c not in guess.mapping]
    if missing:
        report.add(Finding(
            "error", "missing_column",
            f"required column(s) {', '.join(missing)} not found; the file has: "
            f"{', '.join(map(str, raw.columns))}", file=file, column=", ".join(missing),
            fix="rename the column in the file, or map it (Python: mapping={'%s': 'YourColumn'};"
                " CLI: --map %s=YourColumn)" % (missing[0], missing[0])))
        return None
    frame = pd.DataFrame({canon: raw[src] for canon, src in guess.mapping.items()})
    for col in frame.columns:
        frame[col] = frame[col].astype("string").str.strip()
    return frame


def parse_timestamps(values: pd.Series, file: str, report: ValidationReport) -> pd.Series | None:
    """Parse a text column of timestamps to UTC datetimes, detecting the format.

    Numbers are epoch seconds, or milliseconds when they exceed 1e11; anything else must be
    ISO 8601. Returns None (and adds an error with examples) when some values do not parse.
    """
    present = values.notna()
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric[present].notna().all():
        unit = "ms" if numeric.abs().max() > EPOCH_MS_ABOVE else "s"
        parsed = pd.to_datetime(numeric, unit=unit, utc=True)
        label = "epoch milliseconds" if unit == "ms" else "epoch seconds"
    else:
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
        label = "ISO 8601 date-times"
    bad = present & parsed.isna()
    if bad.any():
        report.add(Finding(
            "error", "unparseable_timestamps",
            f"{int(bad.sum()):,} timestamp(s) could not be read as {label}", file=file,
            column=S.TIME, count=int(bad.sum()),
            examples=examples_from(values[bad].to_frame(S.TIME)),
            fix="write timestamps as ISO 8601 (2024-05-01T13:45:00Z) or as epoch seconds/"
                "milliseconds, consistently in the whole column"))
        return None
    report.add(Finding("info", "timestamp_format", f"timestamps read as {label} (UTC)", file=file,
                       column=S.TIME, count=int(present.sum())))
    if (~present).any():
        report.add(Finding("warning", "missing_timestamps",
                           f"{int((~present).sum()):,} event(s) have no timestamp; they keep their"
                           " file position within the user", file=file, column=S.TIME,
                           count=int((~present).sum()), fix="fill in the timestamps if known"))
    return parsed


def _map_events(labels: pd.Series, file: str, extra: dict[str, str],
                report: ValidationReport) -> pd.Series | None:
    uniques = pd.Series(labels.dropna().unique())
    table: dict[str, str | None] = {}
    for lab in uniques:
        table[lab] = extra.get(lab) or S.normalise_event_label(lab)
    unknown = [lab for lab, v in table.items() if v is None]
    if unknown:
        counts = labels[labels.isin(unknown)].value_counts()
        report.add(Finding(
            "error", "unknown_event_types",
            f"event label(s) {', '.join(repr(u) for u in unknown[:10])} are not view, cart or "
            "purchase", file=file, column=S.EVENT, count=int(counts.sum()),
            examples=tuple({"label": k, "events": int(v)} for k, v in counts.head(5).items()),
            fix="map each label (Python: ColumnMapping(events={'%s': 'view'}); CLI: --event "
                "%s=view|cart|purchase)" % (unknown[0], unknown[0])))
        return None
    mapped = labels.map(table).fillna(S.VIEW)
    renamed = {k: v for k, v in table.items() if k != v}
    if renamed:
        report.add(Finding("info", "event_labels_mapped", "event labels mapped: " + ", ".join(
            f"{k} -> {v}" for k, v in list(renamed.items())[:10]), file=file, column=S.EVENT))
    return pd.Categorical(mapped, categories=S.EVENT_TYPES)


def normalise_interactions(raw: pd.DataFrame, file: str, mapping: dict[str, str] | None = None,
                           events: dict[str, str] | None = None,
                           default_event: str = S.VIEW
                           ) -> tuple[pd.DataFrame | None, ValidationReport]:
    """Canonical interaction table from a raw one, with findings.

    Args:
        raw: the file as read by `read_table` (text columns, RangeIndex = data row).
        file: the file name for messages.
        mapping: canonical -> the file's column, for columns the guesser would miss.
        events: the shop's event labels -> view / cart / purchase.
        default_event: event type of every row when the file has no event column.

    Returns:
        (table sorted by user then time, file order kept among ties; or None on errors, report).
    """
    report = ValidationReport()
    frame = _map_columns(raw, file, S.INTERACTION_REQUIRED + S.INTERACTION_OPTIONAL,
                         S.INTERACTION_REQUIRED, mapping, report)
    if frame is None:
        return None, report
    missing_id = frame[S.USER].isna() | frame[S.ITEM].isna()
    if missing_id.any():
        report.add(Finding("warning", "missing_ids", f"{int(missing_id.sum()):,} row(s) without a "
                           "user or item ID were dropped", file=file, count=int(missing_id.sum()),
                           examples=examples_from(frame[missing_id]),
                           fix="fill in the IDs, or ignore if these rows are noise"))
        frame = frame[~missing_id]
    if S.TIME in frame:
        parsed = parse_timestamps(frame[S.TIME], file, report)
        if parsed is None:
            return None, report
        frame[S.TIME] = parsed
    else:
        frame[S.TIME] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        report.add(Finding("info", "no_timestamps", "no timestamp column: each user's events keep "
                           "their file order, and only order-based splits (leave-one-out) apply",
                           file=file))
    if S.EVENT in frame:
        mapped = _map_events(frame[S.EVENT], file, dict(events or {}), report)
        if mapped is None:
            return None, report
        frame[S.EVENT] = mapped
    else:
        frame[S.EVENT] = pd.Categorical([default_event] * len(frame), categories=S.EVENT_TYPES)
        report.add(Finding("info", "no_event_type", f"no event type column: every event counts "
                           f"as '{default_event}'", file=file))
    if S.VALUE in frame:
        value = pd.to_numeric(frame[S.VALUE], errors="coerce")
        bad = frame[S.VALUE].notna() & value.isna()
        if bad.any():
            report.add(Finding("warning", "bad_values", f"{int(bad.sum()):,} value(s) are not "
                               "numbers and were left empty", file=file, column=S.VALUE,
                               count=int(bad.sum()), examples=examples_from(frame[bad]),
                               fix="write plain numbers (1.5, not '1,5 EUR')"))
        frame[S.VALUE] = value.astype("float64")
    frame = frame.sort_values([S.USER, S.TIME], kind="stable", na_position="last")
    frame = _check_events(frame, file, report)
    return frame.reset_index(drop=True)[[c for c in (S.USER, S.ITEM, S.TIME, S.EVENT, S.VALUE)
                                         if c in frame]], report


def _check_events(frame: pd.DataFrame, file: str, report: ValidationReport) -> pd.DataFrame:
    has_time = frame[S.TIME].notna().any()
    if has_time:
        dup = frame.duplicated(keep="first")
        if dup.any():
            report.add(Finding("warning", "duplicate_events", f"{int(dup.sum()):,} exact duplicate"
                               " event(s) (same user, item, time and type) were dropped", file=file,
                               count=int(dup.sum()), examples=examples_from(frame[dup]),
                               fix="usually double logging; nothing to do unless they are real"))
            frame = frame[~dup]
        timed = frame[frame[S.TIME].notna()]
        collide = timed.duplicated([S.USER, S.TIME], keep=False)
        if collide.any():
            users = timed.loc[collide, S.USER].nunique()
            report.add(Finding(
                "warning", "timestamp_collisions",
                f"{int(collide.sum()):,} events of {users:,} user(s) share a timestamp with another"
                " event of the same user; their order is the file order, which may not be the "
                "real order", file=file, column=S.TIME, count=int(collide.sum()),
                examples=examples_from(timed[collide]),
                fix="use timestamps with finer resolution (seconds or milliseconds)"))
    lengths = frame.groupby(S.USER, sort=False, observed=True).size()
    ones = lengths[lengths == 1]
    if len(ones):
        report.add(Finding("warning", "single_event_users", f"{len(ones):,} user(s) have a single "
                           "event: no sequence to learn from, and they cannot be evaluated",
                           file=file, count=len(ones), examples=tuple(
                               {S.USER: u, "events": 1} for u in ones.index[:5]),
                           fix="keep them (they get popular items) or apply a k-core filter"))
    long = lengths[lengths > LONG_SEQUENCE]
    if len(long):
        report.add(Finding("warning", "long_sequences", f"{len(long):,} user(s) have more than "
                           f"{LONG_SEQUENCE:,} events (longest {int(long.max()):,}); models read "
                           "only the most recent events", file=file, count=len(long),
                           examples=tuple({S.USER: u, "events": int(n)} for u, n in
                                          long.sort_values(ascending=False).head(5).items()),
                           fix="check these are real shoppers, not bots or shared accounts"))
    return frame


def _parse_price(values: pd.Series, file: str, report: ValidationReport) -> pd.Series:
    cleaned = values.str.replace(r"[^\d.\-]", "", regex=True).replace("", pd.NA)
    price = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    bad = values.notna() & price.isna()
    if bad.any():
        report.add(Finding("warning", "bad_prices", f"{int(bad.sum()):,} price(s) could not be "
                           "read and were left empty", file=file, column=S.PRICE,
                           count=int(bad.sum()), examples=examples_from(values[bad].to_frame()),
                           fix="write prices as plain numbers such as 19.99"))
    return price


def normalise_catalog(raw: pd.DataFrame, file: str, mapping: dict[str, str] | None = None
                      ) -> tuple[pd.DataFrame | None, ValidationReport]:
    """Canonical catalog (one row per item, every optional column present) with findings."""
    report = ValidationReport()
    frame = _map_columns(raw, file, S.CATALOG_REQUIRED + S.CATALOG_OPTIONAL, S.CATALOG_REQUIRED,
                         mapping, report)
    if frame is None:
        return None, report
    for col in S.CATALOG_OPTIONAL:
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame[S.PRICE] = _parse_price(frame[S.PRICE].astype("string"), file, report)
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
        return None, report
    no_text = frame[S.TITLE].isna() & frame[S.DESCRIPTION].isna()
    if no_text.any():
        report.add(Finding("warning", "items_without_text", f"{int(no_text.sum()):,} item(s) have "
                           "neither title nor description; text-based features and search "
                           "cannot describe them", file=file, column=S.TITLE,
                           count=int(no_text.sum()), examples=examples_from(frame[no_text]),
                           fix="add titles to the catalog"))
    return frame.reset_index(drop=True)[[S.ITEM, *S.CATALOG_OPTIONAL]], report


def cross_check(events: pd.DataFrame, catalog: pd.DataFrame | None, events_file: str,
                catalog_file: str) -> tuple[pd.DataFrame, ValidationReport]:
    """Check the two tables together; returns the catalog completed with IDs seen only in events."""
    report = ValidationReport()
    seen = pd.Index(events[S.ITEM].unique())
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
    return catalog, report


def summary_stats(events: pd.DataFrame, catalog: pd.DataFrame) -> dict[str, object]:
    """Headline counts for the report and the workspace's dataset list."""
    stats: dict[str, object] = {
        "events": int(len(events)), "users": int(events[S.USER].nunique()),
        "items_with_events": int(events[S.ITEM].nunique()), "catalog_items": int(len(catalog)),
    }
    if events[S.TIME].notna().any():
        stats["first_event"] = str(events[S.TIME].min())
        stats["last_event"] = str(events[S.TIME].max())
    counts = events[S.EVENT].value_counts()
    for ev in S.EVENT_TYPES:
        stats[f"{ev}_events"] = int(counts.get(ev, 0))
    lengths = events.groupby(S.USER, sort=False).size().to_numpy()
    stats["median_events_per_user"] = float(np.median(lengths)) if len(lengths) else 0.0
    return stats
