"""One re-ranking setting, the item context it needs, and re-ranking one candidate list.

A `Setting` names the method and its one strength knob; `ItemContext` holds what the methods read
about every item (unit vectors for similarity, category codes, novelty); `rerank` applies a
setting to one shopper's candidates. Item similarity comes from the ranker's item vectors, the
text embeddings, or the categories (one-hot: similar = same category), as the analyst selects.

Every strength but the category cap's reads the same way: 0 keeps the relevance order and more
re-ranks more. The papers' knobs weigh relevance instead, so they are derived here: MMR's lambda
(Carbonell & Goldstein 1998) and the DPP's theta (Chen et al. 2018) are 1 - strength. A setting
saved for one run may ask for what another run lacks (a similarity, categories); `adapt` says what
is applied instead, and `rerank` applies that, so an export never stops on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.rerank import methods

# method -> (label, what its strength means, (low, high), default)
METHODS: dict[str, tuple[str, str, tuple[float, float], float]] = {
    "none": ("Relevance only", "", (0.0, 1.0), 0.0),
    "mmr": ("MMR", ("0 = relevance order, higher = more diverse, 1 = diversity only (MMR's "
                    "lambda, the weight of relevance, is 1 - strength)"), (0.0, 1.0), 0.3),
    "dpp": ("DPP", ("0 = relevance order, higher = more diverse, 1 = diversity only (the DPP's "
                    "theta is 1 - strength)"), (0.0, 1.0), 0.3),
    "cap": ("Category cap", "at most this many items per category (fewer = more re-ranking)",
            (1.0, 10.0), 2.0),
    "calibrate": ("Calibration", ("0 = relevance order, higher = closer to the shopper's "
                                  "category mix (Steck's lambda)"), (0.0, 1.0), 0.5),
    "novelty": ("Novelty boost", "0 = relevance order, higher = more long-tail items (beta)",
                (0.0, 2.0), 0.3),
}
SIMILARITIES = {"model": "the model's item vectors", "text": "title text embeddings",
                "category": "same category"}
SIMILARITY_METHODS = ("mmr", "dpp")  # methods that read item similarity
CATEGORY_METHODS = ("cap", "calibrate")  # methods that read item categories
# A similarity a run lacks -> the ones tried instead, closest in meaning first.
FALLBACK = {"model": ("text", "category"), "text": ("model", "category"),
            "category": ("text", "model")}
# Why a run lacks a similarity, and how to get it.
MISSING = {"model": "this run's model has no item vectors",
           "text": ("no title embeddings are cached for this dataset (an attention run with the "
                    "text tower caches them)"),
           "category": "the catalog has no categories"}


@dataclass(frozen=True)
class Setting:
    """How to re-rank.

    Attributes:
        method: a key of METHODS.
        strength: the method's knob (see METHODS): 0 = the relevance order and more = more
            re-ranking, except for the category cap, which is the most items per category.
        similarity: where item similarity comes from (a key of SIMILARITIES).
        k: the list length.
    """

    method: str = "none"
    strength: float = 0.0
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

    @property
    def has_categories(self) -> bool:
        """Whether any item has a category (without, every item has code 0)."""
        return self.n_categories > 1

    def similarities(self) -> list[str]:
        """The similarities that tell this run's items apart, in SIMILARITIES order.

        "category" is always in `vectors` (metrics can read it), but with no categories it makes
        every item equal to every other, so it is left out here.
        """
        return [s for s in SIMILARITIES
                if s in self.vectors and (s != "category" or self.has_categories)]

    def methods(self) -> list[str]:
        """The METHODS that can change this run's lists: the category methods need categories,
        MMR and DPP a similarity."""
        return [m for m in METHODS
                if not (m in CATEGORY_METHODS and not self.has_categories)
                and not (m in SIMILARITY_METHODS and not self.similarities())]


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


def most_similar(ctx: ItemContext, item: int, k: int,
                 similarity: str | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """The k items most like `item` (internal index) by the cosine of the similarity's vectors
    (the same ones diversity re-ranking reads): `similarity`, or the first the run has of the
    model's item vectors, the title text, the category.

    Returns:
        (the similarity used, (k,) internal indices best first, (k,) their cosines).

    Raises:
        RecdashError: the run has no similarity that tells items apart.
    """
    have = ctx.similarities()
    order = [similarity] if similarity else list(SIMILARITIES)
    source = next((s for s in order if s in have), None)
    if source is None:
        raise RecdashError(f"this run cannot tell items apart by {' or '.join(order)}: "
                           + "; ".join(MISSING.get(s, s) for s in order))
    vectors = ctx.vectors[source]
    sims = vectors @ vectors[item]  # (I,) cosines: the vectors are unit length
    sims[item] = -np.inf  # never the item itself
    k = min(k, len(sims) - 1)
    if k <= 0:
        return source, np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((top, -sims[top]))]  # best first, ties by index
    return source, top.astype(np.int64), sims[top]


def category_distribution(history: np.ndarray, ctx: ItemContext) -> np.ndarray:
    """(C,) the share of each category among a history's items (uniform when empty)."""
    counts = np.bincount(ctx.categories[history], minlength=ctx.n_categories).astype(float)
    return counts / counts.sum() if counts.sum() else np.full(ctx.n_categories,
                                                              1 / ctx.n_categories)


def adapt(setting: Setting, ctx: ItemContext) -> tuple[Setting, str | None]:
    """The setting `rerank` applies to this run, and why it differs from `setting`.

    A preset saved on one run may ask for what another lacks. MMR and DPP then use the first
    similarity of FALLBACK[setting.similarity] the run has; with none, and for the category
    methods on a catalog without categories, the lists keep the relevance order.

    Args:
        setting: the setting asked for (e.g. a stored preset).
        ctx: the run's item context.

    Returns:
        (the setting applied, a sentence saying what changed and why; None when nothing did).
    """
    name = METHODS[setting.method][0]
    if setting.method in CATEGORY_METHODS and not ctx.has_categories:
        return (replace(setting, method="none", strength=0.0),
                f"{name} needs item categories and {MISSING['category']}: the lists keep the "
                "model's order")
    if setting.method in SIMILARITY_METHODS and setting.similarity not in ctx.similarities():
        wanted = (f"{name} asks for '{SIMILARITIES[setting.similarity]}' similarity, but "
                  f"{MISSING[setting.similarity]}")
        for other in FALLBACK[setting.similarity]:
            if other in ctx.similarities():
                return (replace(setting, similarity=other),
                        f"{wanted}: it uses '{SIMILARITIES[other]}' instead")
        return (replace(setting, method="none", strength=0.0),
                f"{wanted}, and this run has no other item similarity: the lists keep the "
                "model's order")
    return setting, None


def rerank(setting: Setting, candidates: np.ndarray, relevance: np.ndarray, ctx: ItemContext,
           history: np.ndarray | None = None) -> np.ndarray:
    """One shopper's list: internal item indices, best first (at most setting.k).

    What the run lacks (a similarity, categories) is handled as `adapt` says; call `adapt` to
    tell the analyst.

    Args:
        setting: the re-ranking setting.
        candidates: (n,) internal indices of the candidate pool.
        relevance: (n,) the model's scores of the candidates.
        ctx: the item context.
        history: the shopper's internal item indices (calibration's target mix).
    """
    setting, _ = adapt(setting, ctx)
    k = setting.k
    if setting.method == "none":
        pos = np.argsort(-relevance, kind="stable")[:k]
    elif setting.method in SIMILARITY_METHODS:
        vec = ctx.vectors[setting.similarity][candidates]
        fn = methods.mmr if setting.method == "mmr" else methods.dpp
        pos = fn(relevance, vec, k, 1.0 - setting.strength)  # lambda / theta: relevance weight
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
