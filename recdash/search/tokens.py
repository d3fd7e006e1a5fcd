"""Words and terms of product text and queries: the lexical side of search.

A *word* is a run of letters and digits, lower-cased after Unicode NFKC folding, with decimal
points kept inside numbers ("1.5l"). A *term* is what the BM25 index counts: each word that is
not a stop word, Snowball-stemmed (Porter's English stemmer, through PyStemmer) when it is all
letters, kept as it is when it holds digits, so model numbers and sizes ("rx580", "512gb") match
exactly. A word mixing digits and letters also gives its parts ("512gb" -> "512gb", "512",
"gb"), so "512 GB" finds "512GB" and the reverse.

Typo tolerance works on words, before stemming: a query word the catalog never uses is replaced
by the closest catalog word within one edit (two from 8 letters), an edit being an insertion,
deletion, substitution or swap of neighbouring letters (Damerau 1964; rapidfuzz's optimal
string alignment distance).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:[.,]\d+[^\W_]*)*")
_PARTS = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+")
# A short English list: function words only, so "case", "top" or "light" stay searchable.
STOPWORDS = frozenset("""a an and are as at be but by for from has have in into is it its of on
or that the their this to was were will with without your you""".split())
MIN_TYPO_LENGTH = 4  # shorter words are too often other real words one edit away
_STEMMER = Stemmer.Stemmer("english")


def words(text: object) -> list[str]:
    """The words of `text`, lower-cased, in order ("" or None gives none)."""
    if text is None or (isinstance(text, float) and text != text):
        return []
    folded = unicodedata.normalize("NFKC", str(text)).lower()
    return _WORD.findall(folded)


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The index terms of one word (none for a stop word)."""
    if word in STOPWORDS:
        return ()
    if word.isalpha():
        return (_STEMMER.stemWord(word),)
    parts = _PARTS.findall(word)
    out = [word]
    if len(parts) > 1:
        out += [p if not p.isalpha() else _STEMMER.stemWord(p) for p in parts
                if p not in STOPWORDS]
    return tuple(dict.fromkeys(out))


def terms(text: object) -> list[str]:
    """The index terms of `text`, in order, with repeats (BM25 counts them)."""
    return [t for w in words(text) for t in word_terms(w)]


def fields_terms(parts: Iterable[object]) -> list[str]:
    """The terms of several fields of one product, joined (title, brand, category, ...)."""
    return [t for part in parts for t in terms(part)]


def matched_words(text: object, query_terms: Sequence[str]) -> list[str]:
    """The words of `text` (as written there) that give one of `query_terms`."""
    wanted = set(query_terms)
    folded = unicodedata.normalize("NFKC", "" if text is None else str(text))
    return [m.group(0) for m in _WORD.finditer(folded)
            if wanted.intersection(word_terms(m.group(0).lower()))]


def highlight(text: object, query_terms: Sequence[str], mark: str = "**") -> str:
    """`text` with each word that matches a query term wrapped in `mark` (Markdown bold)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    wanted = set(query_terms)
    if not wanted:
        return folded

    def sub(m: re.Match) -> str:
        hit = wanted.intersection(word_terms(m.group(0).lower()))
        return f"{mark}{m.group(0)}{mark}" if hit else m.group(0)

    return _WORD.sub(sub, folded)


def correct(word: str, vocabulary: Sequence[str], known: frozenset[str] | set[str]) -> str | None:
    """The catalog word closest to a word the catalog does not use, or None.

    Args:
        word: a lower-cased query word.
        vocabulary: the catalog's words (a list, for rapidfuzz).
        known: the same words as a set (membership).

    Returns:
        `word` itself when the catalog uses it; else the nearest catalog word within one edit
        (two for words of 8 letters or more), ties broken by the catalog's order; None when
        there is none or the word is short, holds digits or is a stop word.
    """
    if word in known:
        return word
    if len(word) < MIN_TYPO_LENGTH or not word.isalpha() or word in STOPWORDS:
        return None
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    cutoff = 2 if len(word) >= 8 else 1
    found = process.extractOne(word, vocabulary, scorer=OSA.distance, score_cutoff=cutoff)
    return found[0] if found else None
