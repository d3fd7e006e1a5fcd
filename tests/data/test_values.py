"""Cell values: numbers with currency and separators, IDs, text and category paths."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash.data import values as V
from recdash.data.report import ValidationReport


def _numbers(values, **kw):
    report = ValidationReport()
    out = V.parse_numbers(pd.Series(values, dtype="string"), "shop.csv", "price", report, **kw)
    return out, report


def _finding(report, code):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.format()
    return found[0]


@pytest.mark.parametrize("text, number", [
    ("12,99 €", 12.99), ("€1.299,99", 1299.99), ("1,299.99", 1299.99), ("$ 5", 5.0),
    ("1 299,00", 1299.0), ("12.99", 12.99), ("1\u00a0299,00 EUR", 1299.0), ("£0.50", 0.5),
    ("USD 19.90", 19.9), ("1'299.50 CHF", 1299.5), ("19.99EUR", 19.99), ("1.2e3", 1200.0),
])
def test_prices_with_currency_and_separators_are_read(text, number):
    out, report = _numbers([text])
    assert out.iloc[0] == pytest.approx(number)
    assert not report.warnings, report.format()


def test_the_separator_and_currency_found_are_noted():
    out, report = _numbers(["12,99 €", "3,50 €", "7"])
    note = _finding(report, "number_format")
    assert note.severity == "info" and "','" in note.message and "€" in note.message
    assert out.tolist() == [12.99, 3.5, 7.0]


@pytest.mark.parametrize("column, expected", [
    (["1,299", "2,50"], [1.299, 2.5]),      # the column writes decimal commas
    (["1,299", "2.50"], [1299.0, 2.5]),     # the column writes decimal points
    (["1.299", "2,50"], [1299.0, 2.5]),
])
def test_an_ambiguous_number_is_read_by_the_rest_of_the_column(column, expected):
    out, report = _numbers(column)
    assert out.tolist() == pytest.approx(expected)
    assert "ambiguous_prices" not in report.codes()


def test_an_ambiguous_number_nothing_decides_is_flagged():
    out, report = _numbers(["1,299", "2,499", "5"])
    warning = _finding(report, "ambiguous_prices")
    assert warning.count == 2 and [e["row"] for e in warning.examples] == [1, 2]
    assert "1299" in warning.message and "decimal" in warning.fix
    assert out.tolist() == [1299.0, 2499.0, 5.0]


def test_negative_infinite_nan_and_text_prices_are_set_to_empty_with_warnings():
    out, report = _numbers(["9.99", "-3", "inf", "Infinity", "1e999", "NaN", "call us", None,
                            "-inf"])
    assert out.notna().tolist() == [True] + [False] * 8
    assert _finding(report, "negative_prices").count == 1
    non_finite = _finding(report, "non_finite_prices")
    assert non_finite.count == 5 and "set to empty" in non_finite.message
    assert [e["row"] for e in non_finite.examples] == [3, 4, 5, 6, 9]
    bad = _finding(report, "bad_prices")
    assert bad.count == 1 and bad.column == "price" and bad.examples[0]["row"] == 7


def test_negatives_can_be_kept_for_quantities():
    report = ValidationReport()
    out = V.parse_numbers(pd.Series(["-2", "3"], dtype="string"), "f", "quantity", report,
                          kind="quantity", negative="keep")
    assert out.tolist() == [-2.0, 3.0] and not report.warnings


def test_a_million_prices_with_few_distinct_values_are_quick():
    column = pd.Series(["12,99 €", "1.299,00 €", "3,50 €", "€0,99"] * 250_000, dtype="string")
    report = ValidationReport()
    out = V.parse_numbers(column, "f", "price", report)
    assert out.iloc[:4].tolist() == [12.99, 1299.0, 3.5, 0.99] and out.notna().all()


def test_control_characters_are_removed_from_ids():
    report = ValidationReport()
    out = V.clean_ids(pd.Series(["u\x001", "u2\u200b", "\x00", "u3", None], dtype="string"),
                      "log.csv", "user_id", report)
    assert out.tolist()[:2] == ["u1", "u2"] and out.isna().tolist()[2:] == [True, False, True]
    warning = _finding(report, "control_characters_in_ids")
    assert warning.count == 3 and warning.column == "user_id"
    assert warning.examples[0] == {"row": 1, "user_id": "u\\x001", "now": "u1"}


def test_blank_text_is_missing_and_long_text_is_cut():
    report = ValidationReport()
    text = pd.Series(["", "\u00a0", "\u200b\u200b", "x" * 10_500, "Mug", None], dtype="string")
    out = V.clean_text(text, "cat.csv", "title", report)
    assert out.isna().tolist() == [True, True, True, False, False, True]
    assert len(out.iloc[3]) == V.MAX_TEXT and out.iloc[4] == "Mug"
    assert _finding(report, "blank_text").count == 3
    long = _finding(report, "long_text")
    assert long.count == 1 and "10,000" in long.message and long.examples[0]["row"] == 4


@pytest.mark.parametrize("path, expected", [
    ("a > > b", "a > b"), ("> a", "a"), ("a >", "a"), ("a//b", "a > b"), ("a/b", "a > b"),
    ("Home>Kitchen", "Home > Kitchen"), ("x | y", "x > y"), ("a > b", "a > b"),
    ("Blu-ray > DVD/4K", "Blu-ray > DVD/4K"),  # a path with '>' splits on '>' only
])
def test_category_paths_are_normalised(path, expected):
    report = ValidationReport()
    out = V.normalise_categories(pd.Series([path, "a > b"], dtype="string"), "c", "category",
                                 report)
    assert out.iloc[0] == expected


def test_malformed_or_mixed_category_paths_warn_and_consistent_ones_note():
    report = ValidationReport()
    column = pd.Series(["Home > Kitchen", "Home/Garden", "Home > > Bath", ">", None],
                       dtype="string")
    out = V.normalise_categories(column, "c.csv", "category", report)
    assert out.tolist()[:3] == ["Home > Kitchen", "Home > Garden", "Home > Bath"]
    assert out.isna().tolist()[3:] == [True, True]
    warning = _finding(report, "malformed_categories")
    assert warning.count == 3 and "'>', '/'" in warning.message
    assert {e["row"] for e in warning.examples} == {2, 3, 4}
    report = ValidationReport()
    V.normalise_categories(pd.Series(["Home/Kitchen", "Food/Tea"], dtype="string"), "c", "category",
                           report)
    assert report.codes() == ["categories_normalised"] and not report.warnings


def test_email_ids_warn_as_personal_data():
    report = ValidationReport()
    V.check_email_ids(pd.Series(["ann@shop.com", "bob@mail.org"], dtype="string"), "o.csv",
                      "user_id", report)
    warning = _finding(report, "email_user_ids")
    assert warning.count == 2 and "personal data" in warning.message
