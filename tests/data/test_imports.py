"""The import engine (`recdash.data.imports`) on hand-made files: previews read only the first
rows of each format, and the column mapping drops what would be guessed for an empty field."""

from __future__ import annotations

import gzip
import io

import pandas as pd

from recdash.data import imports
from recdash.data import schema as S


def test_preview_reads_only_the_first_rows_of_each_format():
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(50)], "item_id": "a"})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    big_csv = b"user_id,item_id\n" + b"".join(b"u%d,a\n" % i for i in range(200_000))
    for name, data in (("log.parquet", buffer.getvalue()), ("log.csv.gz", gzip.compress(big_csv)),
                       ("log.csv", big_csv), ("log.jsonl", frame.to_json(orient="records",
                                                                        lines=True).encode())):
        preview = imports.read_preview(imports.Upload(name, data, "id"))
        assert list(preview.columns) == ["user_id", "item_id"], name
        assert preview["user_id"].tolist() == [f"u{i}" for i in range(imports.PREVIEW_ROWS)], name


def test_kept_columns_drop_what_the_importer_would_guess_for_an_empty_field():
    fields = imports.INTERACTION_FIELDS
    columns = ["user", "item", "time", "date", "score"]
    # timestamp left empty: both 'time' and (once 'time' is gone) 'date' would be guessed
    assert imports.kept_columns(columns, fields, {S.USER: "user", S.ITEM: "item",
                                                 S.VALUE: "score"}) == ["user", "item", "score"]
    assert imports.kept_columns(columns, fields, {S.USER: "user", S.ITEM: "item",
                                                 S.TIME: "date", S.VALUE: "score"}) == columns


def test_an_upload_of_a_name_being_imported_elsewhere_is_refused_at_once(tmp_path):
    import threading

    from recdash.workspace import Workspace

    ws = Workspace(tmp_path)
    upload = imports.Upload("log.csv", b"user,item\nu1,a\nu1,b\n", "id")
    request = imports.ImportRequest("shop", upload, None,
                                    S.ColumnMapping({S.USER: "user", S.ITEM: "item"}))
    held, release = threading.Event(), threading.Event()

    def other_tab():  # another browser session holds the name while it imports
        with ws.dataset_lock("shop"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_tab)
    thread.start()
    held.wait(10)
    report = imports.import_upload(ws, request)
    release.set()
    thread.join()
    (finding,) = report.errors
    assert finding.code == "import_running" and "is running" in finding.message
    assert ws.dataset_names() == []
    assert imports.import_upload(ws, request).ok and ws.dataset_names() == ["shop"]


def test_an_upload_in_another_encoding_points_at_the_studios_control_and_reads_when_chosen(
        tmp_path):
    import pytest

    from recdash.errors import DataFileError
    from recdash.workspace import Workspace

    data = "user;item;title\nu1;a;Café crème\nu1;b;Thé\n".encode("cp1252")
    upload = imports.Upload("export.csv", data, "id")
    with pytest.raises(DataFileError, match="under 'Text encoding' above") as caught:
        imports.read_preview(upload)
    assert "--encoding" not in str(caught.value)
    preview = imports.read_preview(upload, encoding="cp1252")
    assert preview["title"].tolist() == ["Café crème", "Thé"]
    mapping = S.ColumnMapping({S.USER: "user", S.ITEM: "item"})
    ws = Workspace(tmp_path)
    refused = imports.import_upload(ws, imports.ImportRequest("shop", upload, None, mapping))
    assert [f.code for f in refused.errors] == ["undecodable_bytes"]
    assert "under 'Text encoding' above" in refused.errors[0].fix
    ok = imports.import_upload(ws, imports.ImportRequest("shop", upload, None, mapping,
                                                         encoding="cp1252"))
    assert ok.ok, ok.format()
