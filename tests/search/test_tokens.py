"""The search tokeniser: words, terms, numbers and units, highlighting and typo correction."""

from __future__ import annotations

from recdash.search import tokens as T


def test_terms_are_lower_cased_stemmed_and_skip_stop_words() -> None:
    assert T.terms("The Running Shoes for Men") == ["run", "shoe", "men"]


def test_numbers_and_units_are_kept_whole_and_in_parts() -> None:
    assert T.terms("512GB") == ["512gb", "512", "gb"]
    assert T.terms("Kettle 1.5L") == ["kettl", "1.5l", "1.5", "l"]
    assert T.terms("RX580") == ["rx580", "rx", "580"]
    assert set(T.terms("512 GB")) <= set(T.terms("512GB"))


def test_missing_text_has_no_words() -> None:
    assert T.words(None) == [] and T.words(float("nan")) == [] and T.terms("") == []


def test_highlight_marks_the_words_that_match_as_written() -> None:
    terms = T.terms("wireless mice")
    assert T.highlight("Lumio Wireless Mouse - Black", terms) == "Lumio **Wireless** Mouse - Black"
    assert T.highlight("Zentro 512GB phone", T.terms("512 gb")) == "Zentro **512GB** phone"
    assert T.matched_words("Running shoes, running socks", T.terms("run")) == ["Running", "running"]


def test_typos_are_corrected_against_the_catalog_words() -> None:
    vocab = ["headphones", "kettle", "brewmaster", "mouse"]
    known = set(vocab)
    assert T.correct("headphnes", vocab, known) == "headphones"  # a letter missing
    assert T.correct("kettel", vocab, known) == "kettle"  # two letters swapped: one edit
    assert T.correct("brewmastr", vocab, known) == "brewmaster"
    assert T.correct("mouse", vocab, known) == "mouse"
    assert T.correct("xyzzy", vocab, known) is None  # nothing near
    assert T.correct("mose", vocab, known) == "mouse"
    assert T.correct("mos", vocab, known) is None  # too short to guess
    assert T.correct("rx57", ["rx570"], {"rx570"}) is None  # model numbers are never guessed
