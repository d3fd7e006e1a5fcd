"""Date-times as exports write them: detected from the data, read whole, refused when mixed."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash.data import datetimes as D
from recdash.data.report import ValidationReport


def _parse(values, time_format=None):
    report = ValidationReport()
    out = D.parse_datetimes(pd.Series(values, dtype="string"), "log.csv", report, time_format)
    return out, report


def _one(report, code):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.format()
    return found[0]


@pytest.mark.parametrize("values, first, words", [
    (["1700000000", "1700000100"], "2023-11-14 22:13:20", "epoch seconds"),
    (["1700000000000", "1700000100000"], "2023-11-14 22:13:20", "epoch milliseconds"),
    (["1700000000000000", "1700000100000000"], "2023-11-14 22:13:20", "epoch microseconds"),
    (["2023-11-14T22:13:20Z", "2023-11-14 23:15:00+01:00"], "2023-11-14 22:13:20", "ISO 8601"),
    (["2023-11-14 22:13:20 UTC", "2023-11-14 22:15:00.5 UTC"], "2023-11-14 22:13:20", "ISO 8601"),
    (["10/30/2011 16:17", "1/2/2011 8:05"], "2011-10-30 16:17", "month-first"),
    (["30/10/2011 16:17", "1/2/2011 8:05"], "2011-10-30 16:17", "day-first"),
    (["30.10.2011", "1.2.2011"], "2011-10-30", "day-first"),
    (["2011/10/30 16:17:05", "2011/1/2 08:05:00"], "2011-10-30 16:17:05", "year-first"),
    (["Oct 30, 2011", "Jan 2, 2011"], "2011-10-30", "month-name"),
    (["30-Oct-2011", "02-Jan-2011"], "2011-10-30", "month-name"),
    (["10/30/2011 4:17 PM", "1/2/2011 12:05 AM"], "2011-10-30 16:17", "%I:%M %p"),
    (["10/30/2011 16:17:05.250", "1/2/2011 08:05:00.5"], "2011-10-30 16:17:05.25", "%f"),
    (["40846.6784722", "40545"], "2011-10-30 16:17", "Excel"),
    (["20111030", "20110102"], "2011-10-30", "compact"),
])
def test_formats_are_detected_read_as_utc_and_named(values, first, words):
    out, report = _parse(values)
    assert report.ok, report.format()
    assert abs(out.iloc[0] - pd.Timestamp(first, tz="UTC")) < pd.Timedelta(seconds=1)
    note = _one(report, "timestamp_format")
    assert words in note.message and "UTC" in note.message
    assert str(out.dtype) == D.OUT_DTYPE


def test_day_or_month_first_is_decided_by_a_number_above_12():
    out, report = _parse(["1/2/2011", "3/4/2011", "5/13/2011"])
    assert out.iloc[0] == pd.Timestamp("2011-01-02", tz="UTC")
    assert "second number above 12" in _one(report, "timestamp_format").message
    assert "ambiguous_dates" not in report.codes()


@pytest.mark.parametrize("values, assumed, other", [
    (["1/2/2011", "3/4/2011"], "month-first", "day-first"),
    (["1.2.2011", "3.4.2011"], "day-first", "month-first"),
])
def test_dates_that_fit_both_orders_warn_and_say_what_was_assumed(values, assumed, other):
    out, report = _parse(values)
    warning = _one(report, "ambiguous_dates")
    assert assumed in warning.message and "'/'" in warning.message
    assert other in warning.fix
    assert f"--time-format {other}" in warning.text("cli")
    assert "'Date format'" in warning.text("studio") and "--time" not in warning.text("studio")
    chosen, report = _parse(values, other)
    assert report.ok and "ambiguous_dates" not in report.codes()
    assert chosen.iloc[0] != out.iloc[0]


def test_evidence_outside_the_sample_is_found(monkeypatch):
    monkeypatch.setattr(D, "SAMPLE", 2)
    out, report = _parse(["1/2/2011", "3/4/2011", "5/6/2011", "7/8/2011", "25/1/2011"])
    assert report.ok and "ambiguous_dates" not in report.codes()
    assert out.iloc[0] == pd.Timestamp("2011-02-01", tz="UTC")  # day-first, from row 5


def test_a_column_mixing_formats_is_refused_with_each_format_counted():
    values = ["10/30/2011 10:00", "11/30/2011 10:00", "30/10/2011 11:00", "2011-10-30T10:00:00Z"]
    out, report = _parse(values)
    assert out is None and not report.ok
    error = _one(report, "mixed_timestamp_formats")
    assert "3 formats" in error.message
    assert "month-first dates like 10/30/2011: 2" in error.message
    assert "day-first dates like 30/10/2011: 1" in error.message and "ISO 8601" in error.message
    assert {e["row"] for e in error.examples} == {1, 3, 4}
    assert "date format" in error.fix and "--time-format" in error.text("cli")


def test_unreadable_values_are_refused_naming_the_format_tried():
    out, report = _parse(["2024-01-01T10:00:00Z", "yesterday", "31/02/2024 99:00"])
    error = _one(report, "unparseable_timestamps")
    assert out is None and error.count == 2 and "ISO 8601" in error.message
    assert [e["row"] for e in error.examples] == [2, 3]
    out, report = _parse(["1/2/2011", "13/4/2011"], "month-first")
    error = _one(report, "unparseable_timestamps")
    assert "month-first" in error.message and error.examples[0]["row"] == 2


@pytest.mark.parametrize("option", ["%d/%m/%Y %H:%M", "day-first", "Day first", "dmy",
                                    "DD/MM/YYYY"])
def test_an_explicit_format_is_used(option):
    out, report = _parse(["01/02/2011 10:00", "03/04/2011 11:00"], option)
    assert report.ok and out.iloc[0] == pd.Timestamp("2011-02-01 10:00", tz="UTC")
    assert "as chosen" in _one(report, "timestamp_format").message


@pytest.mark.parametrize("option, words", [("weekly", "'weekly'"), ("%Q-%d", "'%Q-%d'")])
def test_an_invalid_format_option_is_an_error_naming_it(option, words):
    out, report = _parse(["2011-10-30"], option)
    error = _one(report, "bad_time_format")
    assert out is None and words in error.message and "day-first" in error.message


def test_epoch_options_force_the_unit():
    out, report = _parse(["1700000000000"], "epoch-ms")
    assert out.iloc[0] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    out, report = _parse(["1700000000"], "epoch-ms")  # 1970: implausible, so set to empty
    assert out.isna().all() and "implausible_timestamps" in report.codes()


def test_implausible_dates_are_set_to_empty_without_crashing():
    values = ["0001-01-01", "1900-01-01", "9999-12-31", "2020-01-01", "2200-05-01", None]
    out, report = _parse(values)
    assert report.ok
    assert out.isna().tolist() == [True, True, True, False, True, True]
    warning = _one(report, "implausible_timestamps")
    assert warning.count == 4 and "2 before 1990-01-01" in warning.message
    assert "2 more than a year in the future" in warning.message
    assert "set to empty" in warning.message and warning.examples[2]["timestamp"] == "9999-12-31"
    assert _one(report, "missing_timestamps").count == 1
    huge, report = _parse(["253402300799000", "1700000000000", "1700000001000"])  # ms
    assert huge.isna().tolist() == [True, False, False]
    assert "implausible_timestamps" in report.codes()


def test_time_variants_of_one_format_are_all_read():
    out, report = _parse(["10/30/2011 16:17", "10/30/2011 16:17:05", "10/31/2011"])
    assert report.ok and out.notna().all()
    assert out.iloc[1] == pd.Timestamp("2011-10-30 16:17:05", tz="UTC")


def test_a_whole_column_is_parsed_in_a_few_vectorised_calls(monkeypatch):
    calls = []
    real = pd.to_datetime
    monkeypatch.setattr(pd, "to_datetime", lambda *a, **k: calls.append(1) or real(*a, **k))
    stamps = pd.date_range("2011-01-01", periods=50_000, freq="17min")
    out, report = _parse(list(stamps.strftime("%m/%d/%Y %H:%M")))
    assert report.ok and out.notna().all() and len(calls) < 20
    assert out.iloc[-1] == stamps[-1].tz_localize("UTC")
