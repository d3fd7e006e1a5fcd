"""What a search is asked for: filters, and how relevance and the shopper's taste are weighed.

Plain frozen dataclasses with no torch import, so the CLI's parser and the pages can read the
defaults without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError

POOL = 1000  # candidates kept from each retriever before fusion
DEPTH = 100  # the most relevant candidates that personalisation re-orders
FUSIONS = ("convex", "rrf")


@dataclass(frozen=True)
class Filters:
    """What the shopper narrowed the results to.

    Attributes:
        category: a category, or a category path's beginning ("Electronics > Audio" keeps
            "Electronics > Audio > Speakers"); None for all.
        brands: the brands kept (empty: all).
        price: (lowest, highest) price kept, either end None for open.
    """

    category: str | None = None
    brands: tuple[str, ...] = ()
    price: tuple[float | None, float | None] = (None, None)

    @property
    def active(self) -> bool:
        return bool(self.category or self.brands or any(p is not None for p in self.price))

    def mask(self, details: pd.DataFrame) -> np.ndarray | None:
        """(n,) bool rows kept, or None when nothing is filtered."""
        if not self.active:
            return None
        keep = np.ones(len(details), dtype=bool)
        if self.category:
            cat = details[S.CATEGORY].astype("string").fillna("")
            want = self.category.strip()
            keep &= ((cat == want) | cat.str.startswith(want + " >")).to_numpy(dtype=bool)
        if self.brands:
            keep &= details[S.BRAND].astype("string").isin(self.brands).fillna(False) \
                .to_numpy(dtype=bool)
        lo, hi = self.price
        if lo is not None or hi is not None:
            price = pd.to_numeric(details[S.PRICE], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(price)
            if lo is not None:
                ok &= price >= lo
            if hi is not None:
                ok &= price <= hi
            keep &= ok
        return keep


@dataclass(frozen=True)
class SearchSettings:
    """How a query's score is put together.

    Attributes:
        lexical_weight: the BM25 list's share of the fusion (0 = semantic only, 1 = BM25 only).
        personal: the shopper's share of the final score (0 = the query alone).
        pool: candidates kept from each retriever.
        depth: the most relevant candidates that the shopper's preference re-orders; the
            rest follow by relevance alone.
        fusion: "convex" (a weighted sum of the normalised scores) or "rrf" (of the ranks).
    """

    # Chosen on validation queries (bench/search_relevance.py): BM25's share peaks at 0.8 on
    # Amazon Scientific and 0.7 on Amazon Games; the shopper's at 0.4 on Scientific.
    lexical_weight: float = 0.7
    personal: float = 0.4
    pool: int = POOL
    depth: int = DEPTH
    fusion: str = "convex"

    def __post_init__(self) -> None:
        for name in ("lexical_weight", "personal"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise RecdashError(f"{name}={value!r} is out of range: give a weight from 0 to 1")
        if self.fusion not in FUSIONS:
            raise RecdashError(f"fusion={self.fusion!r}: use one of {', '.join(FUSIONS)}")
        for name, default in (("pool", POOL), ("depth", DEPTH)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecdashError(f"{name}={value!r}: give 1 or more candidates, e.g. {default}")


@dataclass(frozen=True)
class FilterOptions:
    """What a catalog can be filtered by: its categories and brands (sorted), and its price
    range (None when it has no two different prices)."""

    categories: tuple[str, ...]
    brands: tuple[str, ...]
    price: tuple[float, float] | None

    @classmethod
    def of(cls, catalog: pd.DataFrame) -> "FilterOptions":
        def values(column: str) -> tuple[str, ...]:
            if column not in catalog:
                return ()
            return tuple(sorted(catalog[column].dropna().astype(str).unique()))

        prices = (pd.to_numeric(catalog[S.PRICE], errors="coerce").dropna()
                  if S.PRICE in catalog else pd.Series(dtype=float))
        span = (float(prices.min()), float(prices.max())) if len(prices) else None
        return cls(values(S.CATEGORY), values(S.BRAND),
                   span if span and span[1] > span[0] else None)
