"""One re-ranking setting, the item context it needs, and re-ranking one candidate list.

A `Setting` names the method and its one strength knob; `ItemContext` holds what the methods read
about every item (unit vectors for similarity, category codes, novelty); `rerank` applies a
setting to one shopper's candidates. Item similarity comes from the ranker's item vectors, the
text embeddings, or the categories (one-hot: similar = same category), as the analyst selects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.rerank import methods

# method -> (label, what its strength means, (low, high), default)
METHODS: dict[str, tuple[str, str, tuple[float, float], float]] = {
    "none": ("Relevance only", "", (0.0, 1.0), 1.0),
    "mmr": ("MMR", "lambda: 1 = relevance only, lower = more diverse", (0.0, 1.0), 0.7),
    "dpp": ("DPP", "theta: near 1 = relevance only, lower = more diverse", (0.0, 0.99), 0.7),
    "cap": ("Category cap", "at most this many items per category", (1.0, 10.0), 2.0),
    "calibrate": ("Calibration", ("lambda: 0 = relevance only, higher = closer to the "
                                  "shopper's category mix"), (0.0, 1.0), 0.5),
    "novelty": ("Novelty boost", "beta: weight of long-tail items", (0.0, 2.0), 0.3),
}
SIMILARITIES = {"model": "the model's item vectors", "text": "title text embeddings",
                "category": "same category"}


@dataclass(frozen=True)
class Setting:
    """How to re-rank.

    Attributes:
        method: a key of METHODS.
        strength: the method's knob (see METHODS).
        similarity: where item similarity comes from (a key of SIMILARITIES).
        k: the list length.
    """

    method: str = "none"
    strength: float = 1.0
    similarity: str = "category"
    k: int = 10

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise RecdashError(f"unknown re-ranking method {self.method!r}; choose one of "
                               f"{', '.join(METHODS)}")
        if self.similarity not in SIMILARITIES:
            raise RecdashError(f"unknown similarity {self.similarity!r}; choose one of "
                               f"{', '.join(SIMILARITIES)}")
        low, high = METHODS[self.method][2]
        if not low <= self.strength <= high:
            raise RecdashError(f"{self.method} strength {self.strength} is outside "
                               f"[{low}, {high}]: {METHODS[self.method][1]}")
        if self.k < 1:
            raise RecdashError(f"k={self.k}: ask for at least one item")

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        name = METHODS[self.method][0]
        return name if self.method == "none" else f"{name} {self.strength:g}"


@dataclass(frozen=True)
class ItemContext:
    """What the re-rankers read about every item (internal index order).

    Attributes:
        vectors: similarity source -> (I, d) unit vectors.
        categories: (I,) category codes (0 = none).
        n_categories: number of codes.
        novelty: (I,) self-information of each item scaled to [0, 1] (1 = rarest).
    """

    vectors: dict[str, np.ndarray]
    categories: np.ndarray
    n_categories: int
    novelty: np.ndarray


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def item_context(model, items: np.ndarray, catalog: pd.DataFrame | None,
                 popularity: np.ndarray, text: np.ndarray | None = None) -> ItemContext:
    """Build the context of a model's items.

    Args:
        model: a fitted recommender (its `item_vectors()` is used when it has one).
        items: (I,) the shop's item IDs in the model's order.
        catalog: the dataset's catalog (categories), or None.
        popularity: (I,) distinct users per item in training.
        text: (I, d) text embeddings aligned with `items`, or None.
    """
    cats = pd.Series(index=items, dtype=object)
    if catalog is not None and S.CATEGORY in catalog:
        cats = catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)[S.CATEGORY].reindex(items)
    codes, uniques = pd.factorize(cats, use_na_sentinel=True)
    codes = (codes + 1).astype(np.int64)  # 0 = no category
    onehot = np.zeros((len(items), len(uniques) + 1), dtype=np.float32)
    onehot[np.arange(len(items)), codes] = 1.0
    vectors = {"category": onehot}
    if hasattr(model, "item_vectors"):
        vectors["model"] = _unit(model.item_vectors())
    if text is not None:
        vectors["text"] = _unit(text)
    info = -np.log2(np.maximum(popularity, 1) / max(1.0, float(np.max(popularity, initial=1))))
    return ItemContext(vectors, codes, len(uniques) + 1, info / max(float(info.max()), 1e-12))


def category_distribution(history: np.ndarray, ctx: ItemContext) -> np.ndarray:
    """(C,) the share of each category among a history's items (uniform when empty)."""
    counts = np.bincount(ctx.categories[history], minlength=ctx.n_categories).astype(float)
    return counts / counts.sum() if counts.sum() else np.full(ctx.n_categories,
                                                              1 / ctx.n_categories)


def rerank(setting: Setting, candidates: np.ndarray, relevance: np.ndarray, ctx: ItemContext,
           history: np.ndarray | None = None) -> np.ndarray:
    """One shopper's list: internal item indices, best first (at most setting.k).

    Args:
        setting: the re-ranking setting.
        candidates: (n,) internal indices of the candidate pool.
        relevance: (n,) the model's scores of the candidates.
        ctx: the item context.
        history: the shopper's internal item indices (calibration's target mix).
    """
    k = setting.k
    if setting.method == "none":
        pos = np.argsort(-relevance, kind="stable")[:k]
    elif setting.method in ("mmr", "dpp"):
        if setting.similarity not in ctx.vectors:
            raise RecdashError(f"no '{setting.similarity}' similarity for this run; choose one "
                               f"of {', '.join(ctx.vectors)}")
        vec = ctx.vectors[setting.similarity][candidates]
        fn = methods.mmr if setting.method == "mmr" else methods.dpp
        pos = fn(relevance, vec, k, setting.strength)
    elif setting.method == "cap":
        pos = methods.category_cap(relevance, ctx.categories[candidates], k, int(setting.strength))
    elif setting.method == "calibrate":
        target = category_distribution(np.asarray(history if history is not None else [],
                                                  dtype=np.int64), ctx)
        pos = methods.calibrate(relevance, ctx.categories[candidates], target, k,
                                setting.strength)
    else:
        pos = methods.novelty_boost(relevance, ctx.novelty[candidates], k, setting.strength)
    return candidates[pos]
