"""Beyond-accuracy measures of re-ranked lists: diversity, coverage, novelty and calibration.

Pure functions over the items of one list (intra-list diversity is also batched over users), so
the re-ranking page and the tests can show what a re-ranker bought. Intra-list diversity is the
mean pairwise cosine distance (Ziegler et al., WWW 2005); novelty is mean self-information
(Zhou et al., PNAS 2010); calibration is KL(target || smoothed list distribution) as in Steck,
"Calibrated Recommendations" (RecSys 2018). Lists with no items give NaN rather than an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def intra_list_diversity(vectors: np.ndarray) -> float | np.ndarray:
    """Mean pairwise cosine distance (1 - cos) over the unordered pairs of a list.

    Rows are L2-normalised inside; a zero row has cosine 0 (distance 1) to every other item.

    Args:
        vectors: (k, d) vectors of one list, or (U, k, d) for U lists of equal length.

    Returns:
        A float for one list, (U,) for a batch; 0 for lists of fewer than two items.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim not in (2, 3):
        raise ValueError(f"vectors must be (k, d) for one list or (U, k, d) for a batch, got "
                         f"shape {v.shape}")
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    v = v / np.where(norms > 0, norms, 1.0)
    k = v.shape[-2]
    if k < 2:
        out = np.zeros(v.shape[:-2])
    else:
        # sum over ordered pairs i != j of cos = |sum_i v_i|^2 - sum_i |v_i|^2, without a k x k
        total = v.sum(axis=-2)  # (..., d)
        pair_sum = np.einsum("...d,...d->...", total, total) - np.einsum("...kd,...kd->...", v, v)
        out = 1.0 - pair_sum / (k * (k - 1))
    return float(out) if v.ndim == 2 else out


def category_coverage(categories: np.ndarray) -> float:
    """Distinct categories in a list / the list's length (1 = every item from a new category).

    Args:
        categories: (k,) category codes of the list's items.
    """
    c = np.asarray(categories).ravel()
    return float(len(np.unique(c)) / len(c)) if len(c) else float("nan")


def catalog_coverage(lists: Sequence[np.ndarray] | np.ndarray, n_items: int) -> float:
    """Share of the catalog that appears in at least one list.

    Args:
        lists: the users' lists of item indices, as a sequence of arrays (lengths may differ) or
            a (U, k) array; negative entries are padding and ignored.
        n_items: the catalog size.
    """
    if n_items < 1:
        raise ValueError(f"n_items must be the catalog size (>= 1), got {n_items!r}")
    parts = [np.asarray(x, dtype=np.int64).ravel() for x in lists]
    items = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    items = items[items >= 0]
    if len(items) and items.max() >= n_items:
        raise ValueError(f"item index {items.max()} is outside the catalog of {n_items} items; "
                         "pass the catalog size as n_items")
    return float(len(np.unique(items)) / n_items)


def novelty(items: np.ndarray, popularity: np.ndarray, n_users: int) -> float:
    """Mean self-information -log2(pop_i / n_users) of a list's items, pop clipped at 1.

    Args:
        items: (k,) item indices of the list.
        popularity: (n_items,) number of users who interacted with each item.
        n_users: number of users the popularity counts come from.
    """
    pop = np.asarray(popularity, dtype=np.float64)
    if n_users < 1 or (len(pop) and pop.max() > n_users):
        raise ValueError(f"popularity counts users, so it must lie in [0, n_users]; got n_users "
                         f"{n_users!r} and a largest count of {pop.max() if len(pop) else None}")
    idx = np.asarray(items, dtype=np.int64).ravel()
    if not len(idx):
        return float("nan")
    share = np.maximum(pop[idx], 1.0) / n_users  # never-seen items count as seen once
    return float(np.mean(-np.log2(share)))


def calibration_kl(target: np.ndarray, categories: np.ndarray, n_categories: int,
                   alpha: float = 0.01) -> float:
    """KL(p || q~) with q~ = (1 - alpha) q + alpha p, q the list's category distribution.

    Args:
        target: (n_categories,) the user's category distribution p; rescaled to sum to 1.
        categories: (k,) category codes in [0, n_categories) of the list's items, each item
            weighing the same.
        n_categories: number of category codes.
        alpha: smoothing in (0, 1] that keeps the KL finite (Steck uses 0.01).
    """
    p = np.asarray(target, dtype=np.float64)
    if p.shape != (n_categories,) or np.any(p < 0) or not p.sum() > 0:
        raise ValueError(f"target must be {n_categories} non-negative weights (one per category "
                         f"code) with a positive sum, got shape {p.shape}")
    if not (0.0 < alpha <= 1.0):
        raise ValueError(f"alpha must be in (0, 1] (Steck uses 0.01), got {alpha!r}")
    c = np.asarray(categories, dtype=np.int64).ravel()
    if not len(c):
        return float("nan")
    if c.min() < 0 or c.max() >= n_categories:
        raise ValueError(f"categories must be codes in [0, {n_categories}), got codes from "
                         f"{c.min()} to {c.max()}")
    p = p / p.sum()
    q = np.bincount(c, minlength=n_categories) / len(c)  # (C,)
    smooth = (1.0 - alpha) * q + alpha * p
    has = p > 0  # 0 * log(0 / x) = 0
    return float(np.sum(p[has] * np.log(p[has] / smooth[has])))
