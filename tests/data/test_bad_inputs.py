"""The end-to-end bad-input suite: every case of `tests/data/bad_inputs.py` through the Data
page's upload path (`recdash.data.imports`, with the columns the mapping step would guess) and
through the command line (`recdash import --json`).

Each import starts from a workspace that holds one good dataset, "keep". A refused import must
leave the workspace byte-identical (every file under it, and the SQLite catalog's content); an
accepted one must load back and leave "keep" as it was. The outcome (accept / accept with a
warning / reject), the finding codes and the key words of their messages are asserted, and no
file is ever unpickled.
"""

from __future__ import annotations

import json
import pickletools
import shutil
from pathlib import Path

import pytest

from recdash import cli
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.imports import (CATALOG_FIELDS, INTERACTION_FIELDS, ImportRequest, Upload,
                                  import_upload, read_preview)
from recdash.data.report import Finding, ValidationReport, printable
from recdash.errors import DataFileError
from recdash.workspace import Workspace, check_name, suggest_name
from tests.data.bad_inputs import (CASES, CATALOG, CATALOG_LOG, LOG, MARKER, Case, Snapshot,
                                   evil_pickle, snapshot)

NAME = "shop"  # the dataset each case is imported as
KEEP = "keep"  # the good dataset the workspace already holds


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A workspace holding the good dataset KEEP, copied for each test."""
    root = tmp_path_factory.mktemp("template") / "ws"
    ds, report = prepare_dataset(KEEP, LOG.encode(), CATALOG.encode(),
                                 interactions_name="keep-log.csv", catalog_name="keep-cat.csv")
    assert ds is not None, report.format()
    Workspace(root).save_dataset(ds, source="test")
    return root


@pytest.fixture
def folders(tmp_path, template) -> tuple[Path, Path, Path]:
    """(a fresh copy of the workspace, a folder for input files, a scratch folder)."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    inputs, scratch = tmp_path / "in", tmp_path / "scratch"
    inputs.mkdir()
    scratch.mkdir()
    return root, inputs, scratch


# The two paths -------------------------------------------------------------------------------
def _guessed(upload: Upload, fields: tuple[str, ...]) -> dict[str, str] | DataFileError:
    """The mapping the Data page's mapping step starts with: its guess from the preview."""
    try:
        preview = read_preview(upload)
    except DataFileError as exc:
        return exc
    return S.guess_columns(list(preview.columns), fields).mapping


def via_upload(root: Path, case: Case, data: bytes) -> dict:
    """The Data page's path: preview each upload, take the guessed columns, import.

    A file whose preview cannot be read shows its error and offers no import button; the engine
    is still asked (as a second tab or a script could) and must refuse it the same way.
    """
    log = Upload(case.name, data, "ev") if case.table == "interactions" else Upload(
        CATALOG_LOG, LOG.encode(), "ev")
    catalog = Upload(case.name, data, "cat") if case.table == "catalog" else None
    maps = [_guessed(log, INTERACTION_FIELDS), _guessed(catalog, CATALOG_FIELDS) if catalog
            else {}]
    failed = next((m for m in maps if isinstance(m, DataFileError)), None)
    mapping = S.ColumnMapping(*[{} if isinstance(m, DataFileError) else m for m in maps])
    request = ImportRequest(NAME, log, catalog, mapping, overwrite=False,
                            default_event=case.default_event, time_format=case.time_format)
    report = import_upload(Workspace(root), request)
    if failed is not None:  # what the page shows instead of the mapping step
        assert not report.ok and failed.code in report.codes("error"), report.format()
        shown = ValidationReport()
        shown.add(Finding("error", failed.code, failed.problem, file=failed.file, fix=failed.fix))
        report = shown
    assert Workspace(root).has_dataset(NAME) == report.ok
    return report.to_dict()


def write_inputs(inputs: Path, case: Case, data: bytes) -> tuple[Path, Path | None]:
    """The files the command line is given: (interaction log, catalog or None)."""
    path = inputs / case.cli_name
    path.write_bytes(data)
    if case.table == "interactions":
        return path, None
    log = inputs / CATALOG_LOG
    log.write_bytes(LOG.encode())
    return log, path


def via_cli(root: Path, log: Path, catalog: Path | None, case: Case, capsys) -> dict:
    """`recdash import --json` in-process; exit status 0 stores, 1 refuses."""
    argv = ["--workspace", str(root), "import", "--interactions", str(log), "--name", NAME,
            "--json"]
    argv += ["--catalog", str(catalog)] if catalog else []
    argv += ["--time-format", case.time_format] if case.time_format else []
    argv += ["--default-event", case.default_event] if case.default_event else []
    capsys.readouterr()
    status = cli.main(argv)
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status == (0 if payload["ok"] else 1), payload
    assert "report" in payload, payload  # a refusal of the files, not of the command
    return {**payload["report"], "ok": payload["ok"]}


# The assertions ------------------------------------------------------------------------------
def check_report(case: Case, report: dict, file_name: str) -> None:
    """The outcome, the codes and the words a case expects (`file_name`: as the path gave it)."""
    findings = report["findings"]
    codes = [f["code"] for f in findings]
    warnings = [f["code"] for f in findings if f["severity"] == "warning"]
    shown = json.dumps(findings, indent=1, ensure_ascii=False)[:4000]
    if case.outcome == "reject":
        assert not report["ok"], shown
        assert case.codes and next(f for f in findings if f["code"] == case.codes[0])[
            "severity"] == "error", shown
    else:
        assert report["ok"], shown
        if case.outcome == "accept":
            assert not warnings, shown
        else:
            assert set(warnings) & set(case.codes), shown
    for finding in findings:  # one line each, with nothing a terminal would obey
        line = Finding.from_dict(finding).text()
        assert printable(line) == line and "\n" not in line, line
    missing = [c for c in case.codes if c not in codes]
    assert not missing, f"expected {missing}; found {codes}\n{shown}"
    said = " ".join(f"{f['file']}: {f['message']} {f['fix']}" for f in findings
                    if f["code"] in case.codes)
    for word in case.words:
        word = word.replace("{file}", Path(file_name).name)
        assert word.lower() in said.lower(), f"{word!r} not in: {said}"


def check_workspace(root: Path, top: Path, before: Snapshot, case: Case, ok: bool,
                    scratch: Path) -> None:
    """Nothing unpickled; a refusal left every byte as it was; a stored dataset loads and
    'keep' is untouched."""
    assert not (scratch / MARKER).exists(), "a pickle was loaded"
    after = snapshot(top, root)
    if not ok:
        assert after[0].keys() == before[0].keys(), set(after[0]) ^ set(before[0])
        assert after == before, "a refused import changed the workspace"
        return
    assert all(after[0].get(k) == v for k, v in before[0].items()), "'keep' files changed"
    assert set(before[1]) <= set(after[1]), "the catalog rows of 'keep' changed"
    new = set(after[0]) - set(before[0])
    assert new and all(k.startswith("ws/datasets/") for k in new), new
    ws = Workspace(root)
    assert ws.dataset_names() == [KEEP, NAME]
    ds = ws.load_dataset(NAME)
    assert len(ds.interactions) and ds.report.ok
    assert ws.load_dataset(KEEP).interactions.shape == (6, 4)
    if case.check is not None:
        case.check(ds)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_upload_path(case: Case, folders) -> None:
    root, inputs, scratch = folders
    data = case.make(scratch)
    before = snapshot(root.parent, root)
    report = via_upload(root, case, data)
    check_name(suggest_name(case.name))  # the name the Data page offers for the upload
    check_report(case, report, case.name)
    check_workspace(root, root.parent, before, case, report["ok"], scratch)


@pytest.mark.parametrize("case", [c for c in CASES if c.cli],
                         ids=[c.id for c in CASES if c.cli])
def test_cli_path(case: Case, folders, capsys) -> None:
    root, inputs, scratch = folders
    log, catalog = write_inputs(inputs, case, case.make(scratch))  # before the snapshot
    before = snapshot(root.parent, root)
    report = via_cli(root, log, catalog, case, capsys)
    check_report(case, report, case.cli_name)
    check_workspace(root, root.parent, before, case, report["ok"], scratch)


def test_the_table_covers_every_class_and_outcome() -> None:
    kinds = {c.kind for c in CASES}
    assert {"containers", "compression", "headers", "delimiters", "encodings", "date-times",
            "ids", "values", "hostile-text", "names", "event-types", "retail", "json"} <= kinds
    assert {c.outcome for c in CASES} == {"accept", "warn", "reject"}
    assert len(CASES) >= 65 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("protocol", [0, 4])
def test_the_pickles_would_run_code_if_loaded(tmp_path, protocol) -> None:
    """The pickle cases are real attacks (a call to Path.write_text on loading), shown by their
    opcodes without loading them: so the missing marker file proves that nothing unpickled."""
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(evil_pickle(protocol)(tmp_path))]
    assert ("REDUCE", None) in ops
    assert any(isinstance(arg, str) and "write_text" in arg for _, arg in ops), ops
    assert any(isinstance(arg, str) and MARKER in arg for _, arg in ops), ops


def test_an_import_with_an_empty_mapping_names_the_files_columns(folders) -> None:
    root = folders[0]
    request = ImportRequest(NAME, Upload("log.csv", LOG.encode(), "ev"), None, S.ColumnMapping())
    report = import_upload(Workspace(root), request)
    error = next(f for f in report.errors if f.code == "missing_column")
    assert "user_id" in error.message.split("the file has:")[1], error.message
