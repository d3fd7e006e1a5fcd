"""Importing uploaded files: the engine behind the Data page's import step.

An upload stays in memory: its preview is read from the first bytes (a delimited or JSON-lines
file's first PREVIEW_BYTES, a Parquet file's first row group), the analyst's column mapping is
applied, and only a dataset that passed validation is written, into the workspace, by
`Workspace.save_dataset`. A refused import leaves the workspace as it was. Nothing here draws:
the studio's widgets live in `ui/upload.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.readers import PREVIEW_BYTES, read_table  # noqa: F401 (PREVIEW_BYTES: public)
from recdash.data.report import Finding, ValidationReport
from recdash.errors import DataFileError, RecdashError
from recdash.locks import LockBusy
from recdash.privacy import for_storage
from recdash.workspace import Workspace, check_name

PREVIEW_ROWS = 10  # rows shown, and read, for the mapping step
INTERACTION_FIELDS = S.INTERACTION_REQUIRED + S.INTERACTION_OPTIONAL
CATALOG_FIELDS = S.CATALOG_REQUIRED + S.CATALOG_OPTIONAL


@dataclass(frozen=True)
class Upload:
    """An uploaded file, in memory.

    Attributes:
        name: the file's name as uploaded (gives the format and names it in messages).
        data: its bytes.
        id: changes with every upload, so widgets keyed by it start afresh for a new file.
    """

    name: str
    data: bytes
    id: str


def upload_ids(events: Upload, catalog: Upload | None) -> tuple[str, str | None]:
    """Which files an import is about (to tell whether a stored report belongs to them)."""
    return events.id, catalog.id if catalog else None


@dataclass(frozen=True)
class ImportRequest:
    """Everything the analyst chose for one import.

    Attributes:
        name: the dataset's name in the workspace.
        interactions: the interaction log.
        catalog: the product catalog, or None.
        mapping: file columns chosen per canonical field, and event labels mapped by hand; a
            field missing from the mapping is not imported, even when a column looks like it.
        overwrite: replace a stored dataset of the same name.
        default_event: the event type of every row when the log has no event-type column
            (None: a view, said in the report).
        time_format: how timestamps are written (None: detected; see
            `recdash.data.datetimes`).
        encoding: the text encoding of CSV and JSON files without a byte-order mark.
        session_gap: cut each shopper's events into sessions at this many minutes without
            an event (None: one sequence per user_id).
        pseudonymise: store a keyed hash of each shopper ID instead of the ID (see
            `recdash.privacy`).
    """

    name: str
    interactions: Upload
    catalog: Upload | None
    mapping: S.ColumnMapping
    overwrite: bool = False
    default_event: str | None = None
    time_format: str | None = None
    encoding: str = "utf-8"
    session_gap: float | None = None
    pseudonymise: bool = False

    @property
    def uploads(self) -> tuple[str, str | None]:
        """The uploads' ids (see `upload_ids`)."""
        return upload_ids(self.interactions, self.catalog)


def read_preview(upload: Upload, rows: int = PREVIEW_ROWS,
                 encoding: str = "utf-8") -> pd.DataFrame:
    """The first rows of an upload, as text, without reading the whole file.

    It goes through `read_table`'s sniffing, so a preview and the import read a file the same
    way: a delimited or JSON-lines file (inside gzip or zip too) is expanded and decoded only as
    far as PREVIEW_BYTES, a Parquet file's first batch and a workbook's first rows are read.

    Args:
        upload: the uploaded file.
        rows: how many data rows to read.

    Returns:
        At most `rows` rows, as `read_table` returns them (with `attrs["notes"]`).

    Raises:
        DataFileError: the start of the file cannot be read as a table.
    """
    try:
        return read_table(upload.data, upload.name, nrows=rows, encoding=encoding)
    except DataFileError as exc:
        raise _for_the_studio(exc) from None


# The reader's fixes name the command line's flag; the Data page has a control for it.
_STUDIO_FIX = {"undecodable_bytes": "re-save the file as UTF-8 (Excel: 'CSV UTF-8'), or choose "
                                    "its encoding under 'Text encoding' above"}


def _for_the_studio(exc: DataFileError) -> DataFileError:
    if exc.code not in _STUDIO_FIX:
        return exc
    return DataFileError(exc.file, exc.problem, _STUDIO_FIX[exc.code], row=exc.row,
                         column=exc.column, code=exc.code)


def kept_columns(columns: list[str], wanted: tuple[str, ...],
                 chosen: dict[str, str]) -> list[str]:
    """The file's columns less those the importer would still guess for a field the analyst
    left empty, so that "not in the file" means what it says.

    Args:
        columns: the file's columns.
        wanted: the canonical fields of this table.
        chosen: the analyst's mapping (canonical field -> file column).
    """
    keep = list(columns)
    while True:
        guess = S.guess_columns(keep, wanted, chosen)
        rejected = {src for field, src in guess.mapping.items() if field not in chosen}
        if not rejected:
            return keep
        keep = [c for c in keep if c not in rejected]


def unknown_event_labels(preview: pd.DataFrame, column: str | None,
                         failure: ValidationReport | None) -> list[str]:
    """Event labels that are not view, cart or purchase (nor a known synonym): those in the
    preview's event column, and those a refused import of the same files named."""
    labels: list[str] = []
    if column is not None and column in preview:
        labels += [str(x) for x in preview[column].dropna().str.strip().unique()]
    if failure is not None:
        labels += [str(ex["label"]) for f in failure.findings if f.code == "unknown_event_types"
                   for ex in f.examples if "label" in ex]
    return [lab for lab in dict.fromkeys(labels) if S.normalise_event_label(lab) is None]


def _refused(code: str, message: str, fix: str, file: str = "") -> ValidationReport:
    report = ValidationReport()
    report.add(Finding("error", code, message, file=file, fix=fix))
    return report


def _read_full(upload: Upload, fields: tuple[str, ...], chosen: dict[str, str],
               encoding: str) -> pd.DataFrame | ValidationReport:
    try:
        raw = read_table(upload.data, upload.name, encoding=encoding)
    except DataFileError as exc:
        exc = _for_the_studio(exc)
        problem = exc.problem + (f" (row {exc.row})" if exc.row else "")
        return _refused(exc.code, problem, exc.fix, exc.file)
    missing = [c for c in chosen.values() if c not in raw.columns]
    if missing:
        return _refused("unknown_column", f"column(s) {', '.join(missing)} chosen in the "
                        "preview are not in the file", "upload the file again", upload.name)
    kept = raw[kept_columns(list(raw.columns), fields, chosen)]
    # The reader's notes (format detected, sheet read, ...), and every column of the file, so
    # that a field left empty is reported against the file's columns, not the kept ones.
    kept.attrs = {**raw.attrs, "file_columns": [str(c) for c in raw.columns]}
    return kept


def import_upload(ws: Workspace, request: ImportRequest,
                  progress: Callable[[str], None] = lambda message: None) -> ValidationReport:
    """Read, validate and, when nothing blocks it, store an import.

    The dataset name's lock is held from the first read to the store, so a second import of
    the same name (another browser tab, the command line) is refused at once instead of both
    succeeding and the last one winning.

    Args:
        ws: the workspace.
        request: the files and the analyst's choices.
        progress: called with a message before each step.

    Returns:
        The validation report; the dataset was stored exactly when `report.ok`.
    """
    try:
        check_name(request.name)
    except RecdashError as exc:
        return _refused("bad_dataset_name", str(exc), "type another name")
    try:
        with ws.dataset_lock(request.name):
            return _import_locked(ws, request, progress)
    except LockBusy as exc:
        return _refused("import_running", str(exc), "wait for the other import to finish, "
                        "then try again (or type another name)")


def _import_locked(ws: Workspace, request: ImportRequest,
                   progress: Callable[[str], None]) -> ValidationReport:
    if ws.has_dataset(request.name) and not request.overwrite:
        return _refused("dataset_exists", f"a dataset named '{request.name}' exists",
                        "type another name, or tick 'Replace it'")
    tables, notes = [], []
    for upload, fields, chosen in ((request.interactions, INTERACTION_FIELDS,
                                    request.mapping.interactions),
                                   (request.catalog, CATALOG_FIELDS, request.mapping.catalog)):
        if upload is None:
            tables.append(None)
            continue
        progress(f"Reading {upload.name}")
        table = _read_full(upload, fields, chosen, request.encoding)
        if isinstance(table, ValidationReport):
            return table
        notes += [Finding("info", "reader_note", note, file=upload.name)
                  for note in table.attrs.get("notes", [])]
        tables.append(table)
    progress("Checking the data")
    ds, report = prepare_dataset(
        request.name, tables[0], tables[1], mapping=request.mapping,
        interactions_name=request.interactions.name,
        catalog_name=request.catalog.name if request.catalog else None,
        default_event=request.default_event, time_format=request.time_format,
        session_gap=request.session_gap)
    for note in notes:
        report.add(note)
    if ds is None:
        return report
    progress(f"Storing '{request.name}'")
    source = "upload: " + " + ".join(u.name for u in (request.interactions, request.catalog) if u)
    try:
        ds = for_storage(ws, ds, request.pseudonymise)
    except RecdashError as exc:  # a damaged pseudonym key: the message says what to do
        report.add(Finding("error", "pseudonym_key", str(exc)))
        return report
    report = ds.report
    try:
        ws.save_dataset(ds, source=source, overwrite=request.overwrite)
    except RecdashError as exc:
        report.add(Finding("error", "not_stored", str(exc), fix="try again"))
    return report
