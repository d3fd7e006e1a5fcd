"""Re-ranking settings: every strength reads "more = more re-ranking", and a setting asks only for
what the run has (a similarity it lacks falls back, category methods need categories)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.rerank import methods
from recdash.rerank.setting import (
    METHODS,
    ItemContext,
    Setting,
    adapt,
    item_context,
    rerank,
)

N, K = 60, 10


def context(categories: bool = True, model: bool = False, text: bool = False) -> ItemContext:
    """60 items: the 20 most relevant (indices 0-19) all in category 'a', the rest spread over
    'b'..'e'; the model's and the text vectors are the category plus a little noise (so their
    rank is full and the DPP keeps picking), the same for both sources."""
    items = np.array([f"i{j:02d}" for j in range(N)])
    cats = ["a"] * 20 + [c for c in "bcde" for _ in range(10)]
    catalog = pd.DataFrame({S.ITEM: items, S.CATEGORY: cats if categories else pd.NA})
    onehot = pd.get_dummies(pd.Series(cats)).to_numpy(dtype=np.float32)  # (60, 5)
    noise = np.random.default_rng(0).normal(scale=0.3, size=(N, 11)).astype(np.float32)
    vectors = np.hstack([onehot, noise])  # (60, 16)

    class Model:
        def item_vectors(self) -> np.ndarray:
            return vectors

    return item_context(Model() if model else object(), items, catalog, np.ones(N),
                        vectors if text else None)


def relevance() -> np.ndarray:
    return np.linspace(1.0, 0.0, N)  # (60,) item 0 is the most relevant


def changed(setting: Setting, ctx: ItemContext) -> int:
    """How many of the list's items are not in the relevance order's top K."""
    got = rerank(setting, np.arange(N), relevance(), ctx)
    return len(set(got.tolist()) - set(range(K)))


@pytest.mark.parametrize("method", ["mmr", "dpp"])
def test_more_strength_re_ranks_more_and_zero_keeps_the_relevance_order(method: str) -> None:
    ctx = context(model=True)
    none = rerank(Setting(method, 0.0, "model"), np.arange(N), relevance(), ctx)
    np.testing.assert_array_equal(none, np.arange(K))
    weak = changed(Setting(method, 0.2, "model"), ctx)
    strong = changed(Setting(method, 0.95, "model"), ctx)
    assert weak < strong, (weak, strong)
    assert strong >= 4  # at 0.95 the list takes items from the other four categories


def test_strength_is_one_minus_the_papers_relevance_weight() -> None:
    ctx = context(model=True)
    vec = ctx.vectors["model"]
    for method, fn in (("mmr", methods.mmr), ("dpp", methods.dpp)):
        got = rerank(Setting(method, 0.3, "model"), np.arange(N), relevance(), ctx)
        np.testing.assert_array_equal(got, fn(relevance(), vec, K, 0.7))


def test_every_help_text_but_the_caps_says_zero_is_the_relevance_order() -> None:
    for method, (_, meaning, (low, _high), default) in METHODS.items():
        if method in ("none", "cap"):
            continue
        assert meaning.startswith("0 = relevance order"), method
        assert low == 0.0 and default > 0.0
    assert "lambda" in METHODS["mmr"][1] and "1 - strength" in METHODS["mmr"][1]
    assert Setting().strength == 0.0 and Setting().method == "none"


def test_a_similarity_the_run_lacks_falls_back_and_says_which() -> None:
    preset = Setting("mmr", 0.5, "model")
    with_text = context(text=True)
    applied, note = adapt(preset, with_text)
    assert applied == Setting("mmr", 0.5, "text")
    assert "no item vectors" in note and "'title text embeddings' instead" in note
    applied, note = adapt(preset, context())
    assert applied.similarity == "category" and "'same category' instead" in note
    # rerank applies the same fallback instead of refusing the list
    np.testing.assert_array_equal(rerank(preset, np.arange(N), relevance(), context()),
                                  rerank(Setting("mmr", 0.5, "category"), np.arange(N),
                                         relevance(), context()))
    assert adapt(Setting("mmr", 0.5, "category"), context()) == (
        Setting("mmr", 0.5, "category"), None)


def test_without_categories_the_category_tools_are_not_offered_and_keep_the_order() -> None:
    ctx = context(categories=False)
    assert not ctx.has_categories
    assert ctx.similarities() == [] and ctx.methods() == ["none", "novelty"]
    assert context(categories=False, text=True).methods() == ["none", "mmr", "dpp", "novelty"]
    for setting in (Setting("cap", 2.0), Setting("calibrate", 0.9), Setting("mmr", 0.9)):
        applied, note = adapt(setting, ctx)
        assert applied.method == "none" and "keep the model's order" in note
        got = rerank(setting, np.arange(N), relevance(), ctx, history=np.arange(3))
        np.testing.assert_array_equal(got, np.arange(K))  # a full list, not 2 per "category"
    full = context()
    assert full.similarities() == ["category"] and "cap" in full.methods()
