"""Read a JSON-lines file (one object per line) or a JSON array of objects into a table.

`read_table` decodes the text and calls `read_json`; this module only turns that text into
columns. Every value becomes text (a number as its digits, true/false as the words, a nested
value as compact JSON), so that parsing types is the validator's job as for every other
format. A line or item that is not valid JSON, or not an object, is a DataFileError naming the
file, the line and the fix.
"""

from __future__ import annotations

import json

import pandas as pd

from recdash.errors import DataFileError


def read_json(text: str, display: str, fmt: str, nrows: int | None) -> pd.DataFrame:
    """A table of text columns from JSON lines or a JSON array of objects.

    Args:
        text: the decoded file text (not empty).
        display: the file name to show in errors.
        fmt: 'json' for an array of objects; anything else is read as JSON lines.
        nrows: read only this many records (a preview); all when None.

    Returns:
        A DataFrame with one string column per key, in order of first appearance; a key a
        record lacks is NA there.

    Raises:
        DataFileError: invalid JSON (with its line), a pretty-printed document given as JSON
            lines, or a record that is not an object.
    """
    if fmt == "json":  # an array of objects
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFileError(display, f"line {exc.lineno} is not valid JSON: {exc.msg} (at "
                                f"character {exc.colno})", "fix that line, or export the table "
                                "again", row=exc.lineno, code="invalid_json") from exc
        records = records[:nrows] if nrows else records
        for i, rec in enumerate(records, 1):
            _check_object(rec, f"item {i} of the JSON array is", display, None)
    else:
        records = _json_lines(text, display, nrows)
    columns = {}
    for key in dict.fromkeys(k for rec in records for k in rec):
        values = [rec.get(key) for rec in records]
        if not all(type(v) is str for v in values):
            values = [v if type(v) is str else _json_text(v) for v in values]
        columns[key] = pd.array(values, dtype="string")
    return pd.DataFrame(columns)


def _json_lines(text: str, display: str, nrows: int | None) -> list[dict]:
    lines = text.split("\n")
    if nrows is None:  # one parse of all lines (fast); on any doubt, line by line below
        kept = [line for line in lines if line.strip()]
        try:
            records = json.loads("[" + ",".join(kept) + "]")
            if len(records) == len(kept) and all(type(r) is dict for r in records):
                return records
        except json.JSONDecodeError:
            pass
    records = []
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            if line.strip() == "{":  # a pretty-printed document
                raise DataFileError(display, "the file is one JSON document spread over several "
                                    "lines, not one object per line", "write one JSON object "
                                    "per line (JSON lines), or an array of objects", row=line_no,
                                    code="invalid_json") from exc
            raise DataFileError(display, f"line {line_no} is not valid JSON: {exc.msg} (at "
                                f"character {exc.colno}: '{line.strip()[:60]}')", "fix that "
                                "line, or export the table again", row=line_no,
                                code="invalid_json") from exc
        records.append(_check_object(rec, f"line {line_no} holds", display, line_no))
        if len(records) == nrows:
            break
    return records


def _check_object(value: object, where: str, display: str, row: int | None) -> dict:
    if isinstance(value, dict):
        return value
    kinds = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    raise DataFileError(display, f"{where} {kinds.get(type(value), 'a number')}, not a JSON "
                        "object", 'write each row as an object: {"user_id": "u1", ...}', row=row,
                        code="json_not_object")


def _json_text(value: object) -> str | None:
    """A JSON value as text: numbers as written, nested values as compact JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, (int, float)) else json.dumps(value,
                                                                          ensure_ascii=False)
