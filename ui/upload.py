"""The Data page's import step, drawn: preview an uploaded interaction log and catalog, let the
analyst correct the guessed column and event-label mapping, then validate and store the dataset.

The engine (previews, the mapping, validation and storing) is `recdash.data.imports`; this module
only draws its widgets and reports.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from recdash.data import schema as S
from recdash.data.imports import (CATALOG_FIELDS, INTERACTION_FIELDS, ImportRequest, Upload,
                                  import_upload, read_preview, unknown_event_labels)
from recdash.data.report import ValidationReport
from recdash.data.sessions import DEFAULT_GAP_MINUTES, keyed_by_session
from recdash.errors import DataFileError
from recdash.workspace import Workspace, suggest_name
from ui.report import plain, show_file_error

TIME_FORMATS = {None: "Detect from the values", "month-first": "Month first (10/30/2011)",
                "day-first": "Day first (30/10/2011)", "iso8601": "ISO 8601 (2011-10-30T16:17)",
                "epoch-s": "Seconds since 1970", "epoch-ms": "Milliseconds since 1970",
                "custom": "Another pattern..."}
ENCODINGS = ["utf-8", "cp1252", "latin-1", "utf-16", "mac-roman", "cp1250", "shift_jis",
             "gb18030"]
FILE_TYPES = ["csv", "tsv", "txt", "dat", "gz", "zip", "parquet", "pq", "jsonl", "ndjson", "json",
              "xlsx", "xls"]  # .xls too, so that the reader can say how to convert it


def upload_of(file: UploadedFile | None) -> Upload | None:
    """The Upload of an `st.file_uploader` value (None stays None)."""
    return None if file is None else Upload(file.name, file.getvalue(), file.file_id)


def _field_help(field: str, guess: S.ColumnGuess, required: bool) -> str:
    if field in guess.guessed:
        return f"guessed from the column name '{guess.mapping[field]}'"
    if field in guess.mapping:
        return "the column has this name"
    return "no column looks like it" + ("; pick the right one" if required else "")


def pick_columns(columns: list[str], fields: tuple[str, ...], required: tuple[str, ...],
                 key: str) -> dict[str, str]:
    """One selectbox per canonical field, preset to `guess_columns`' guess.

    Args:
        columns: the file's columns.
        fields: the canonical fields of this table.
        required: the fields an import needs.
        key: a prefix for the widgets' keys, unique per uploaded file.

    Returns:
        The chosen mapping: canonical field -> file column, for fields not left empty.
    """
    guess = S.guess_columns(columns, fields)
    options: list[str | None] = [None, *columns]
    chosen: dict[str, str] = {}
    boxes = st.columns(3)
    for i, field in enumerate(fields):
        pick = boxes[i % 3].selectbox(
            field + (" (required)" if field in required else ""), options,
            index=options.index(guess.mapping.get(field)), key=f"{key}:{field}",
            format_func=lambda c: "(not in the file)" if c is None else c,
            help=_field_help(field, guess, field in required))
        if pick is not None:
            chosen[field] = pick
    return chosen


def pick_event_labels(labels: list[str], key: str) -> dict[str, str]:
    """One selectbox per unknown event label; returns the labels mapped so far."""
    if not labels:
        return {}
    st.markdown("**Event labels** that are not view, cart or purchase: say what each means.")
    options: list[str | None] = [None, *S.EVENT_TYPES]
    boxes = st.columns(3)
    mapped = {}
    for i, label in enumerate(labels):
        pick = boxes[i % 3].selectbox(f"'{label}' means", options, key=f"{key}:event:{label}",
                                      format_func=lambda e: "(choose)" if e is None else e)
        if pick is not None:
            mapped[label] = pick
    return mapped


def mapping_step(events: Upload, catalog: Upload | None, names: list[str],
                 failure: ValidationReport | None = None) -> ImportRequest | None:
    """Show each file's first rows and the pickers for its columns, unknown event labels and the
    dataset's name.

    Args:
        events: the uploaded interaction log.
        catalog: the uploaded catalog, or None.
        names: the datasets stored now (a taken name offers "Replace it").
        failure: the report of a refused import of these files (its unknown labels get pickers).

    Returns:
        The import the analyst set up, or None when a preview could not be read (shown).
    """
    encoding = st.selectbox(
        "Text encoding", ENCODINGS, key=f"enc:{events.id}:{catalog.id if catalog else ''}",
        help="how CSV and JSON files are written; files with a byte-order mark (UTF-8 or UTF-16 "
             "from Excel) are read as they say whatever is chosen here")
    previews = {}
    for file in (events, catalog):
        if file is not None:
            try:
                previews[file.id] = read_preview(file, encoding=encoding)
            except DataFileError as exc:
                show_file_error(exc)
                return None
    st.subheader("Check the columns")
    st.caption("recdash guessed which column holds what; correct any wrong guess. A field left at "
               "'(not in the file)' is not imported.")
    st.markdown(f"**{plain(events.name)}**: first rows")
    _notes(previews[events.id])
    st.dataframe(previews[events.id], hide_index=True)
    key = f"map:{events.id}"
    columns = pick_columns(list(previews[events.id].columns), INTERACTION_FIELDS,
                           S.INTERACTION_REQUIRED, key)
    labels = unknown_event_labels(previews[events.id], columns.get(S.EVENT), failure)
    labels_mapped = pick_event_labels(labels, key)
    default_event, time_format = pick_options(columns, key)
    session_gap = pick_sessions(columns, key)
    catalog_columns: dict[str, str] = {}
    if catalog is not None:
        st.markdown(f"**{plain(catalog.name)}**: first rows")
        _notes(previews[catalog.id])
        st.dataframe(previews[catalog.id], hide_index=True)
        catalog_columns = pick_columns(list(previews[catalog.id].columns), CATALOG_FIELDS,
                                       S.CATALOG_REQUIRED, f"map:{catalog.id}")
    name = st.text_input("Dataset name", value=suggest_name(events.name), key=f"{key}:name",
                         help="1-64 letters, digits, '_', '-' or '.'; how the other pages and "
                              "the command line refer to it").strip()
    overwrite = name in names and st.checkbox(
        f"Replace it: a dataset named '{name}' exists (its runs are kept)", key=f"{key}:replace")
    pseudonymise = st.checkbox(
        "Pseudonymise shopper IDs", key=f"{key}:pseudonymise",
        help="store a keyed hash of each shopper ID instead of the ID, so that no page, export, "
             "log or API answer shows a customer's own ID; the key stays in the workspace")
    return ImportRequest(name, events, catalog,
                         S.ColumnMapping(columns, catalog_columns, labels_mapped), overwrite,
                         default_event=default_event, time_format=time_format,
                         encoding=encoding, session_gap=session_gap, pseudonymise=pseudonymise)


def pick_options(columns: dict[str, str], key: str) -> tuple[str | None, str | None]:
    """The import's options beside the column mapping: what a row is when the log has no
    event-type column ("Every row is a"), and how its timestamps are written ("Date format").

    Returns:
        (the default event type or None, the time format or None for "detect").
    """
    left, right = st.columns(2)
    default_event = None
    if S.EVENT not in columns:
        default_event = left.selectbox(
            "Every row is a", [None, *S.EVENT_TYPES], key=f"{key}:default-event",
            format_func=lambda e: "Detect (purchase for an order export, else view)"
            if e is None else e,
            help="the file has no event-type column: say what each row records; detected, a "
                 "file with quantities or order numbers is read as purchases")
    time_format = None
    if S.TIME in columns:
        choice = right.selectbox("Date format", list(TIME_FORMATS), key=f"{key}:time-format",
                                 format_func=TIME_FORMATS.get,
                                 help="detected from the values by default; choose when the "
                                      "report says the order of day and month is ambiguous")
        if choice == "custom":
            time_format = right.text_input(
                "Pattern", "%m/%d/%Y %H:%M", key=f"{key}:time-pattern",
                help="Python strptime codes: %d day, %m month, %Y year, %H:%M hours and "
                     "minutes, %p AM/PM").strip() or None
        else:
            time_format = choice
    return default_event, time_format


def pick_sessions(columns: dict[str, str], key: str) -> float | None:
    """When the log is keyed by shoppers and has timestamps: whether to cut each shopper's
    events into sessions, and at what gap of inactivity (minutes), or None."""
    if S.TIME not in columns or S.USER not in columns:
        return None
    if keyed_by_session(columns[S.USER]):
        st.caption(f"'{plain(columns[S.USER])}' holds sessions: each session is a sequence.")
        return None
    left, right = st.columns(2)
    if not left.toggle("Cut into sessions", False, key=f"{key}:sessions",
                       help="anonymous visits rather than shoppers: each shopper's events are "
                            "cut wherever some time passes without an event"):
        return None
    return float(right.number_input("Minutes without an event that end a session", 1.0, 1440.0,
                                    DEFAULT_GAP_MINUTES, step=5.0, key=f"{key}:gap"))


def _notes(preview) -> None:
    """What the reader noticed about a file (its real format, the sheet read, ...)."""
    for note in preview.attrs.get("notes", []):
        st.caption(plain(note[0].upper() + note[1:]))


def validate_and_store(root: str, request: ImportRequest) -> ValidationReport:
    """`import_upload` with its steps shown in a status box."""
    with st.status(f"Importing '{request.name}'...", expanded=False) as box:
        report = import_upload(Workspace(root), request, progress=lambda message: box.update(label=message))
        if report.ok:
            box.update(label=f"Imported '{request.name}'", state="complete")
        else:
            box.update(label=f"'{request.name}' was not imported", state="error")
    return report
