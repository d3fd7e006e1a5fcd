"""Turn a shop's raw interaction log into recdash's canonical table, reporting everything found.

`normalise_log` maps the interaction log's columns (and the catalog columns some logs carry on
every line, such as the Online Retail export's Description and UnitPrice), cleans IDs, drops
returns (negative quantities), parses date-times (`recdash.data.datetimes`) and numbers
(`recdash.data.values`), maps event labels and checks the events. `map_columns` is the column
mapping it shares with `recdash.data.catalog`, which does the same for a product catalog;
`recdash.data.dataset.cross_check` looks at the two together. Each returns findings for the
ValidationReport; errors mean the result must not be stored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recdash.data import datetimes as D
from recdash.data import schema as S
from recdash.data import values as V
from recdash.data.report import Finding, ValidationReport, examples_from, hints

LONG_SEQUENCE = 1000  # events per user above which a sequence is reported as very long


def _text(values: pd.Series, keep_blank: bool = False) -> pd.Series:
    """Stripped text; values left empty are NA, unless `keep_blank` (catalog text, so that
    `values.clean_text` counts and reports them)."""
    text = values.astype("string").str.strip()
    return text if keep_blank else text.mask(text == "")


def map_hints(field: str, table: str) -> dict[str, str]:
    """The hints (CLI, studio, Python) for mapping `field` of `table` ("interactions" or
    "catalog") by hand: a Finding's `how`."""
    flag, key = ("--map", "interactions") if table == "interactions" else ("--catalog-map",
                                                                           "catalog")
    return hints(cli=f"{flag} {field}=YourColumn",
                 studio=f"choose the column for {field} under 'Check the columns' above",
                 python=f"mapping=ColumnMapping({key}={{'{field}': 'YourColumn'}})")


def map_columns(raw: pd.DataFrame, file: str, wanted: tuple[str, ...], required: tuple[str, ...],
                given: dict[str, str] | None, report: ValidationReport, table: str,
                skip: tuple[str, ...] = (), keep_blank: tuple[str, ...] = ()
                ) -> tuple[pd.DataFrame | None, S.ColumnGuess | None]:
    """The canonical columns of a raw table as stripped text, and how they were found.

    Args:
        raw: the file as read by `read_table`.
        file: the file name for messages.
        wanted: the canonical fields to look for.
        required: those of `wanted` the table cannot do without.
        given: canonical -> the file's column, as the analyst mapped them.
        report: gets the findings, and the guess's description under `report.columns[file]`.
        table: "interactions" or "catalog", for the hints of how to map a column.
        skip: columns the caller takes for something else.
        keep_blank: fields whose empty values stay "" rather than NA (catalog text, so that
            `values.clean_text` counts and reports them).

    Returns:
        (the columns, index = data row, or None after an error; the guess, or None).
    """
    columns = [c for c in raw.columns if c not in skip]
    unknown = [(k, v) for k, v in (given or {}).items() if v not in raw.columns]
    if unknown:
        report.add(Finding("error", "unknown_column", f"column '{unknown[0][1]}' given for "
                           f"{unknown[0][0]} is not in the file; the file has: "
                           f"{', '.join(map(str, raw.columns))}", file=file, column=unknown[0][0],
                           fix="map the field to one of the file's columns",
                           how=map_hints(unknown[0][0], table)))
        return None, None
    guess = S.guess_columns(columns, wanted, {k: v for k, v in (given or {}).items()
                                              if k in wanted})
    report.columns[file] = guess.describe()
    missing = [c for c in required if c not in guess.mapping]
    if missing:
        why = ""
        # The upload path hands over only the columns the analyst kept; name the file's own.
        listed = list(raw.attrs.get("file_columns", raw.columns))
        if len(listed) != len(raw.columns):
            why += "; the column mapping left it at '(not in the file)'"
        mails, orders = (S.columns_like(listed, names) for names in (S.EMAIL_COLUMNS,
                                                                      S.ORDER_COLUMNS))
        if S.USER in missing and mails:
            why += (f"; the e-mail column '{mails[0]}' is not taken as shopper IDs by itself: "
                    "e-mail addresses are personal data")
        if S.USER in missing and orders:
            why += f"; '{orders[0]}' holds order numbers, not shoppers"
        report.add(Finding(
            "error", "missing_column",
            f"required column(s) {', '.join(missing)} not found; the file has: "
            f"{', '.join(map(str, listed))}{why}", file=file, column=", ".join(missing),
            fix="rename the column in the file, or say which column holds " + missing[0] + (
                "; rather than e-mail addresses, a pseudonymous customer ID" if mails else ""),
            how=map_hints(missing[0], table)))
        return None, None
    frame = pd.DataFrame({canon: _text(raw[src], canon in keep_blank)
                          for canon, src in guess.mapping.items()})
    return frame, guess


def _default_event(default_event: str | None, columns: list[str], quantity: str | None,
                   file: str, report: ValidationReport) -> tuple[str, str] | None:
    """(the event type of rows without one, why), or None after an error."""
    if default_event is None:
        orders = S.columns_like(columns, S.ORDER_COLUMNS)
        shown = ([quantity] if quantity else []) + orders[:1]
        if shown:
            return S.PURCHASE, f" (the file looks like an order export: it has {', '.join(shown)})"
        return S.VIEW, ""
    event = S.normalise_event_label(default_event)
    if event is None:
        report.add(Finding(
            "error", "bad_default_event", f"the default event type '{default_event}' is not "
            "view, cart or purchase", file=file, column=S.EVENT,
            fix="choose view, cart or purchase", how=hints(
                cli="--default-event view|cart|purchase",
                studio="choose the event type under 'Every row is a' above",
                python="default_event='view'")))
        return None
    return event, ""


def normalise_log(raw: pd.DataFrame, file: str, mapping: dict[str, str] | None = None,
                  events: dict[str, str] | None = None, default_event: str | None = None, *,
                  time_format: str | None = None
                  ) -> tuple[pd.DataFrame | None, pd.DataFrame | None, ValidationReport]:
    """Canonical interaction table from a raw one, the catalog columns it carries, and findings.

    Args:
        raw: the file as read by `read_table` (text columns, RangeIndex = data row).
        file: the file name for messages.
        mapping: canonical -> the file's column, for columns the guesser would miss; catalog
            fields (title, price, ...) name the log's own catalog columns.
        events: the shop's event labels -> view / cart / purchase.
        default_event: event type of every row when the file has no event column; None:
            purchase for an order export (a quantity or order-number column), else view.
        time_format: how timestamps are written (see `datetimes.parse_datetimes`); None detects.

    Returns:
        (table sorted by user then time, file order kept among ties, or None on errors; the
        catalog built from the log's catalog columns, one row per item, or None when it has
        none; the report).
    """
    report = ValidationReport()
    try:
        D.check_time_format(time_format)
    except ValueError as exc:
        report.add(D.bad_time_format(exc, file))
    given = dict(mapping or {})
    for_catalog = {k: v for k, v in given.items() if k in S.CATALOG_OPTIONAL}
    frame, guess = map_columns(raw, file, S.INTERACTION_REQUIRED + S.INTERACTION_OPTIONAL,
                               S.INTERACTION_REQUIRED, given, report, "interactions",
                               skip=tuple(for_catalog.values()))
    chosen = _default_event(default_event, list(raw.columns), guess.mapping.get(S.QUANTITY)
                            if guess else None, file, report)
    if frame is None or not report.ok or chosen is None:
        return None, None, report
    log_text = _log_columns(raw, guess, for_catalog, file, report)
    has_value = S.VALUE in frame
    for col in (S.USER, S.ITEM):
        frame[col] = V.clean_ids(frame[col], file, col, report)
    V.check_email_ids(frame[S.USER], file, S.USER, report)
    missing_id = frame[S.USER].isna() | frame[S.ITEM].isna()
    if missing_id.any():
        report.add(Finding("warning", "missing_ids", f"{int(missing_id.sum()):,} row(s) without a "
                           "user or item ID were dropped", file=file, count=int(missing_id.sum()),
                           examples=examples_from(frame[missing_id]),
                           fix="fill in the IDs, or ignore if these rows are noise"))
        frame = frame[~missing_id]
    if S.QUANTITY in frame:
        frame = _quantities(frame, file, report)
    if S.TIME in frame:
        parsed = D.parse_datetimes(frame[S.TIME], file, report, time_format, column=S.TIME,
                                   keep_implausible=True)
        if parsed is None:
            return None, None, report
        frame[S.TIME] = parsed
    else:
        frame[S.TIME] = pd.Series(pd.NaT, index=frame.index, dtype=D.OUT_DTYPE)
        report.add(Finding("info", "no_timestamps", "no timestamp column: each user's events keep "
                           "their file order, and only order-based splits (leave-one-out) apply",
                           file=file))
    if S.EVENT in frame:
        mapped = _map_events(frame[S.EVENT], file, dict(events or {}), report)
        if mapped is None:
            return None, None, report
        frame[S.EVENT] = mapped
    else:
        frame[S.EVENT] = pd.Categorical([chosen[0]] * len(frame), categories=S.EVENT_TYPES)
        report.add(Finding("info", "no_event_type", f"no event type column: every event counts "
                           f"as '{chosen[0]}'{chosen[1]}", file=file,
                           fix=f"if the rows are not {chosen[0]}s, say what they are", how=hints(
                               cli="--default-event view|cart|purchase",
                               studio="choose the event type under 'Every row is a' above")))
    if has_value:
        frame[S.VALUE] = V.parse_numbers(frame[S.VALUE], file, S.VALUE, report, kind="value")
    frame = frame.sort_values([S.USER, S.TIME], kind="stable", na_position="last")
    frame[S.TIME] = frame[S.TIME].mask(D.implausible(frame[S.TIME]))  # after ordering by them
    frame = _check_events(frame.drop(columns=[S.QUANTITY], errors="ignore"), file, report)
    items = None if log_text is None else log_text.loc[frame.index].assign(
        **{S.ITEM: frame[S.ITEM]})
    return frame.reset_index(drop=True)[[c for c in S.INTERACTION_STORED if c in frame]], \
        items, report


def normalise_interactions(raw: pd.DataFrame, file: str, mapping: dict[str, str] | None = None,
                           events: dict[str, str] | None = None,
                           default_event: str | None = None, *, time_format: str | None = None
                           ) -> tuple[pd.DataFrame | None, ValidationReport]:
    """`normalise_log` without the log's catalog columns: (table or None, report)."""
    frame, _, report = normalise_log(raw, file, mapping, events, default_event,
                                     time_format=time_format)
    return frame, report


def _log_columns(raw: pd.DataFrame, guess: S.ColumnGuess, given: dict[str, str], file: str,
                 report: ValidationReport) -> pd.DataFrame | None:
    """The catalog columns an interaction log carries (text, index = data row), or None."""
    spare = [c for c in raw.columns if str(c) in guess.unused or c in given.values()]
    found = S.guess_columns(spare, S.CATALOG_OPTIONAL, given)
    lines = report.columns[file]
    lines += [line[:-1] + ", for the catalog)" for line in found.describe()]
    if found.unused:
        lines.append(f"not used: {', '.join(found.unused)}")
    if not found.mapping:
        return None
    return pd.DataFrame({canon: _text(raw[src]) for canon, src in found.mapping.items()})


def _quantities(frame: pd.DataFrame, file: str, report: ValidationReport) -> pd.DataFrame:
    """Rows of positive quantity; the quantity is the value when the log has none."""
    qty = V.parse_numbers(frame[S.QUANTITY], file, S.QUANTITY, report, kind="quantity",
                          negative="keep")
    for code, mask, what, fix in (
            ("returns_dropped", qty < 0, "have a negative quantity: returns and cancellations "
             "are not interest, so they were dropped", "nothing to do if these are returns"),
            ("zero_quantity", qty == 0, "have a quantity of 0 (nothing bought) and were "
             "dropped", "nothing to do, unless 0 stands for an unknown quantity: then leave "
             "the cell empty")):
        if mask.any():
            n = int(mask.sum())
            report.add(Finding("warning", code, f"{n:,} row(s) {what}", file=file,
                               column=S.QUANTITY, count=n, examples=examples_from(frame[mask]),
                               fix=fix))
    keep = ~((qty < 0) | (qty == 0))
    frame = frame[keep].copy()
    if S.VALUE not in frame:
        frame[S.VALUE] = qty[keep]
        report.add(Finding("info", "value_from_quantity", "no value column: each event's value "
                           "is its quantity", file=file, column=S.VALUE))
    return frame.drop(columns=[S.QUANTITY])


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
            fix="say what each label means (view, cart or purchase)", how=hints(
                cli=f"--event {unknown[0]}=view|cart|purchase",
                studio="choose what each label means under 'Event labels' above",
                python=f"ColumnMapping(events={{'{unknown[0]}': 'view'}})")))
        return None
    mapped = labels.map(table).fillna(S.VIEW)
    blank = labels.isna()
    if blank.any():  # the weakest signal, and said: never a silent guess
        n = int(blank.sum())
        report.add(Finding("warning", "missing_event_types", f"{n:,} event(s) have no event "
                           "type; they count as 'view'", file=file, column=S.EVENT, count=n,
                           examples=examples_from(labels[blank].to_frame(S.EVENT)),
                           fix="fill in the event types, or drop these rows if they are noise"))
    renamed = {k: v for k, v in table.items() if k != v}
    if renamed:
        report.add(Finding("info", "event_labels_mapped", "event labels mapped: " + ", ".join(
            f"{k} -> {v}" for k, v in list(renamed.items())[:10]), file=file, column=S.EVENT))
    return pd.Categorical(mapped, categories=S.EVENT_TYPES)


def _check_events(frame: pd.DataFrame, file: str, report: ValidationReport) -> pd.DataFrame:
    has_time = frame[S.TIME].notna().any()
    if has_time:
        dup = frame.duplicated([c for c in S.INTERACTION_STORED if c in frame], keep="first")
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
    stats["repeat_share"] = repeat_share(events)
    stats["rebuy_share"] = rebuy_share(events)
    stats["last_repeat_share"] = last_repeat_share(events)
    return stats


def repeat_share(events: pd.DataFrame) -> float:
    """Share of the events after each sequence's first whose item the sequence had already
    (a repeat purchase, or a return to a viewed product): where it is large, recommending seen
    items ("buy again") matters and rankings keep them."""
    later = len(events) - events[S.USER].nunique()
    return float(events.duplicated([S.USER, S.ITEM]).sum() / later) if later > 0 else 0.0


def rebuy_share(events: pd.DataFrame) -> float | None:
    """Share of purchases that buy again an item the same sequence bought before (None for a
    log without purchases): where it is large, a shop should recommend items already bought."""
    bought = events[events[S.EVENT] == S.PURCHASE]
    return float(bought.duplicated([S.USER, S.ITEM]).mean()) if len(bought) else None


def last_repeat_share(events: pd.DataFrame) -> float:
    """Share of the sequences (of two events or more) whose last event returns to an item the
    sequence had before: what leave-one-out's test targets look like. Where it is large, leaving
    seen items out of the rankings makes that share of the targets unreachable."""
    users = events[S.USER].to_numpy(dtype=object)
    if len(users) < 2:
        return 0.0
    last = np.concatenate([users[1:] != users[:-1], [True]])  # events are grouped by sequence
    first = np.concatenate([[True], users[1:] != users[:-1]])
    longer = last & ~first  # the last event of a sequence of two events or more
    again = events.duplicated([S.USER, S.ITEM]).to_numpy()
    return float(again[longer].mean()) if longer.any() else 0.0
