"""Re-ranking one user's candidate list for diversity, category balance and novelty.

Pure functions: a user's candidates (relevance scores, item vectors, category codes) in, a
permutation of candidate positions out, so any recommender's top-N can be re-ranked after
scoring. Maximal Marginal Relevance follows Carbonell & Goldstein (SIGIR 1998); the DPP follows
Chen, Zhang & Zhou, "Fast Greedy MAP Inference for Determinantal Point Process to Improve
Recommendation Diversity" (NeurIPS 2018, Algorithm 1); calibration follows Steck, "Calibrated
Recommendations" (RecSys 2018). Relevance is min-max normalised to [0, 1] inside every method so
that a trade-off such as lam = 0.7 means the same for every model's score scale. The greedy
methods scan candidates in relevance order, so ties go to the more relevant candidate, then to
the lower position, and a trade-off that ignores diversity reproduces the relevance order exactly.
The functions keep the papers' knobs (MMR's lam and the DPP's theta weigh relevance); the studio's
`Setting.strength` is 1 - lam or 1 - theta, so that more strength always means more re-ranking.
"""

from __future__ import annotations

import numpy as np

# DPP trade-offs at or above this are treated as "relevance only": alpha = theta / (2(1-theta))
# reaches 500 there and the kernel would hold nothing but the top item.
THETA_RELEVANCE_ONLY = 0.999


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> np.ndarray:
    """Maximal Marginal Relevance: greedily pick argmax lam*rel_i - (1-lam)*max_{j in S} sim(i, j).

    Keeps a running (n,) max-similarity vector and updates it with one (n,) row of cosine
    similarities per pick, so the n x n similarity matrix is never built.

    Args:
        relevance: (n,) scores on any scale; min-max normalised to [0, 1] inside.
        vectors: (n, d) item vectors; rows are L2-normalised inside (cosine = dot product),
            zero rows stay zero (similarity 0 to everything).
        k: list length wanted (>= 1).
        lam: weight of relevance in [0, 1]; 1 = the relevance order, 0 = diversity only.

    Returns:
        (min(k, n),) int64 distinct positions into the candidate arrays, best first.
    """
    r, m = _relevance(relevance), _check_k(k, len(relevance))
    _check_fraction("lam", lam, "1 keeps the relevance order, 0 is diversity only")
    v = _unit_rows(vectors, len(r))
    order = _relevance_order(r)
    # Work in relevance order so that argmax's first-index tie-break favours relevance.
    rel, v = lam * _minmax(r)[order], v[order]  # (n,), (n, d)
    taken = np.zeros(len(r), dtype=bool)
    picked = np.empty(m, dtype=np.int64)
    score = rel.copy()  # nothing picked yet: the penalty of an empty list is 0
    for t in range(m):
        score[taken] = -np.inf
        j = int(np.argmax(score))
        picked[t], taken[j] = j, True
        if t + 1 == m:
            break
        sim = v @ v[j]  # (n,) one row of the cosine matrix
        max_sim = sim if t == 0 else np.maximum(max_sim, sim)
        score = rel - (1.0 - lam) * max_sim
    return order[picked]


def dpp(relevance: np.ndarray, vectors: np.ndarray, k: int, theta: float,
        eps: float = 1e-10) -> np.ndarray:
    """Greedy MAP inference for a DPP with incremental Cholesky updates (Chen et al. 2018, Alg. 1).

    The kernel is L = diag(q) S diag(q) with S = V V^T (cosine) and quality
    q_i = exp(alpha * r_i), r the min-max normalised relevance, alpha = theta / (2 (1 - theta)).
    Each pick adds the candidate with the largest marginal gain d_i^2 = det(L_{S+i}) / det(L_S);
    one kernel row L[j, :] is computed per pick. q is divided by exp(alpha) so the best item has
    L_ii = 1: every determinant scales by the same factor per step, so the picks do not change,
    nothing overflows for theta near 1, and eps is relative to the best item.

    Args:
        relevance: (n,) scores on any scale; min-max normalised to [0, 1] inside.
        vectors: (n, d) item vectors; rows are L2-normalised inside, zero rows stay zero (such
            items are never picked for diversity, only in the relevance fill).
        k: list length wanted (>= 1).
        theta: trade-off in [0, 1]; 0 = diversity only (det of S), >= 0.999 = the relevance order.
        eps: when the best remaining gain d_i^2 falls below this (the kernel's rank is
            exhausted, e.g. k > d), the rest of the list is filled in relevance order.

    Returns:
        (min(k, n),) int64 distinct positions into the candidate arrays, best first.
    """
    r, m = _relevance(relevance), _check_k(k, len(relevance))
    _check_fraction("theta", theta, "values near 1 favour relevance, 0 is diversity only")
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a small non-negative number such as 1e-10, got {eps!r}")
    v = _unit_rows(vectors, len(r))
    order = _relevance_order(r)
    if theta >= THETA_RELEVANCE_ONLY:
        return order[:m]
    alpha = theta / (2.0 * (1.0 - theta))
    v = v[order]  # (n, d), relevance order: argmax ties and the fill favour relevance
    q = np.exp(alpha * (_minmax(r)[order] - 1.0))  # (n,) in (0, 1]
    # (n,) diag of L, the gains of a first pick: q_i^2 for unit rows (exactly, so that equal
    # qualities tie and the tie goes to relevance), 0 for zero rows.
    d2 = np.where(np.einsum("nd,nd->n", v, v) > 0.5, q * q, 0.0)
    c = np.zeros((m, len(r)))  # (m, n) rows of the incremental Cholesky factor, one per pick
    taken = np.zeros(len(r), dtype=bool)
    picked: list[int] = []
    for t in range(m):
        gains = np.where(taken, -np.inf, d2)
        j = int(np.argmax(gains))
        if gains[j] < eps:
            break  # the rank is exhausted: any further determinant is ~0
        picked.append(j)
        taken[j] = True
        if t + 1 == m:
            break
        row = q[j] * q * (v @ v[j])  # (n,) kernel row L[j, :]
        e = (row - c[:t, j] @ c[:t]) / np.sqrt(d2[j])  # (n,) new Cholesky entries
        c[t] = e
        d2 = np.maximum(d2 - e * e, 0.0)  # rounding can take a spent gain below 0
    fill = np.flatnonzero(~taken)[: m - len(picked)]  # ascending = relevance order
    return order[np.concatenate([np.asarray(picked, dtype=np.int64), fill])]


def category_cap(relevance: np.ndarray, categories: np.ndarray, k: int, cap: int) -> np.ndarray:
    """Walk candidates by relevance and take each while its category has fewer than cap items.

    Args:
        relevance: (n,) scores on any scale.
        categories: (n,) int category codes (any integers; -1 is an ordinary code here).
        k: list length wanted (>= 1).
        cap: most items of one category in the list (>= 1).

    Returns:
        (<= min(k, n),) int64 distinct positions, best first; fewer than k when the caps make k
        impossible (e.g. two categories with cap 3 give at most 6 items).
    """
    r, m = _relevance(relevance), _check_k(k, len(relevance))
    cats = _categories(categories, len(r))
    if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 1:
        raise ValueError(f"cap must be a positive integer (most items per category), got {cap!r}")
    order = _relevance_order(r)
    c = cats[order]  # (n,) categories in relevance order
    # Rank of each candidate within its category, in relevance order: group by category with a
    # stable sort (which keeps relevance order inside a group), then count from the group start.
    by_cat = np.argsort(c, kind="stable")
    grouped = c[by_cat]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    sizes = np.diff(np.r_[starts, len(c)])
    rank = np.empty(len(c), dtype=np.int64)
    rank[by_cat] = np.arange(len(c)) - np.repeat(starts, sizes)
    return order[rank < cap][:m]


def calibrate(relevance: np.ndarray, categories: np.ndarray, target: np.ndarray, k: int,
              lam: float, alpha: float = 0.01) -> np.ndarray:
    """Calibrated recommendations (Steck 2018): greedy max of (1-lam) sum rel - lam KL(p || q~).

    p is the user's target category distribution, q the list's category distribution (each item
    weighs the same), and q~ = (1 - alpha) q + alpha p keeps the KL finite. Every step scores all
    remaining candidates at once: only the entry of the candidate's own category changes, so the
    KL after adding an item of each category is one (C,) vector, gathered per candidate.

    Args:
        relevance: (n,) scores on any scale; min-max normalised to [0, 1] inside.
        categories: (n,) int category codes in [0, C).
        target: (C,) non-negative category weights, e.g. the share of each category in the
            user's history; rescaled to sum to 1 inside.
        k: list length wanted (>= 1).
        lam: weight of calibration in [0, 1]; 0 = the relevance order.
        alpha: smoothing in (0, 1]; Steck uses 0.01.

    Returns:
        (min(k, n),) int64 distinct positions into the candidate arrays, best first.
    """
    r, m = _relevance(relevance), _check_k(k, len(relevance))
    _check_fraction("lam", lam, "0 keeps the relevance order, 1 is calibration only")
    if not (0.0 < alpha <= 1.0):
        raise ValueError(f"alpha must be in (0, 1] (Steck uses 0.01), got {alpha!r}")
    p = _distribution(target)
    cats = _categories(categories, len(r))
    if len(cats) and (cats.min() < 0 or cats.max() >= len(p)):
        raise ValueError(f"categories must be codes in [0, {len(p)}) to index target of length "
                         f"{len(p)}, got codes from {cats.min()} to {cats.max()}; pass a target "
                         "with one entry per category code")
    order = _relevance_order(r)
    rel, c = (1.0 - lam) * _minmax(r)[order], cats[order]  # (n,), (n,)
    has = p > 0  # categories with p = 0 add nothing to KL(p || .)
    neg_entropy = float(np.sum(p[has] * np.log(p[has])))
    counts = np.zeros(len(p))  # (C,) items of each category in the list so far
    taken = np.zeros(len(r), dtype=bool)
    picked = np.empty(m, dtype=np.int64)
    for t in range(m):
        now = (1.0 - alpha) * counts / (t + 1) + alpha * p  # (C,) q~ entries if c is not added
        grown = now + (1.0 - alpha) / (t + 1)  # (C,) the entry of c once c is added
        cross_now = p * np.log(now, where=has, out=np.zeros(len(p)))
        cross_grown = p * np.log(grown, where=has, out=np.zeros(len(p)))
        kl = neg_entropy - (cross_now.sum() - cross_now + cross_grown)  # (C,) KL if c is added
        score = rel - lam * kl[c]  # (n,)
        score[taken] = -np.inf
        j = int(np.argmax(score))
        picked[t], taken[j] = j, True
        counts[c[j]] += 1
    return order[picked]


def novelty_boost(relevance: np.ndarray, novelty: np.ndarray, k: int, beta: float) -> np.ndarray:
    """Re-sort by normalised relevance + beta * novelty.

    Args:
        relevance: (n,) scores on any scale; min-max normalised to [0, 1] inside.
        novelty: (n,) novelty of each candidate in [0, 1] (e.g. self-information / its max).
        k: list length wanted (>= 1).
        beta: weight of novelty; 0 = the relevance order, negative values favour popular items.

    Returns:
        (min(k, n),) int64 distinct positions into the candidate arrays, best first.
    """
    r, m = _relevance(relevance), _check_k(k, len(relevance))
    nov = np.asarray(novelty, dtype=np.float64)
    if nov.shape != r.shape:
        raise ValueError(f"novelty has shape {nov.shape} but relevance has {r.shape}; pass one "
                         "novelty value per candidate")
    if not (np.all(np.isfinite(nov)) and np.all((nov >= 0) & (nov <= 1))):
        raise ValueError("novelty must be finite and in [0, 1]; rescale it first, e.g. divide "
                         "self-information by its maximum")
    if not np.isfinite(beta):
        raise ValueError(f"beta must be a finite number, got {beta!r}")
    return np.argsort(-(_minmax(r) + beta * nov), kind="stable")[:m].astype(np.int64)


def _relevance(relevance: np.ndarray) -> np.ndarray:
    """(n,) float64 relevance, or a ValueError saying what to fix."""
    r = np.asarray(relevance, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"relevance must be 1-D, one score per candidate, got shape {r.shape}; "
                         "re-rank one user's candidates per call")
    bad = np.flatnonzero(~np.isfinite(r))
    if bad.size:
        raise ValueError(f"relevance is NaN or infinite at positions {bad[:5].tolist()}; replace "
                         "those scores (e.g. with the lowest finite score) or drop the candidates")
    return r


def _check_k(k: int, n: int) -> int:
    """The number of items to return, min(k, n), after checking k is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer (the list length), got {k!r}")
    return min(int(k), n)


def _check_fraction(name: str, value: float, meaning: str) -> None:
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1] ({meaning}), got {value!r}")


def _unit_rows(vectors: np.ndarray, n: int) -> np.ndarray:
    """(n, d) float64 with L2-normalised rows (the input itself when already so); zero rows stay 0."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or len(v) != n:
        raise ValueError(f"vectors must have shape (n, d) with n = {n} candidates (one row per "
                         f"relevance score), got shape {v.shape}")
    sq = np.einsum("nd,nd->n", v, v)  # (n,) squared norms; NaN/inf in v make them non-finite
    if not np.all(np.isfinite(sq)):
        if not np.all(np.isfinite(v)):
            raise ValueError("vectors hold NaN or infinite values; fix the item embeddings first")
        # Huge finite rows overflowed when squared: scale each row by its largest entry first.
        top = np.abs(v).max(axis=1, keepdims=True)  # (n, 1)
        v = v / np.where(top > 0, top, 1.0)
        sq = np.einsum("nd,nd->n", v, v)
    if np.all(np.abs(sq - 1.0) < 1e-10):
        return v  # the common case: embeddings stored normalised; skip a copy of (n, d)
    norms = np.sqrt(sq)[:, None]  # (n, 1)
    return v / np.where(norms > 0, norms, 1.0)


def _categories(categories: np.ndarray, n: int) -> np.ndarray:
    """(n,) int64 category codes, or a ValueError saying what to fix."""
    c = np.asarray(categories)
    if c.shape != (n,):
        raise ValueError(f"categories must have shape ({n},), one code per candidate, got "
                         f"shape {c.shape}")
    if c.size and not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"categories must be integer codes, got dtype {c.dtype}; map names to "
                         "codes first, e.g. with pandas.factorize")
    return c.astype(np.int64)


def _distribution(target: np.ndarray) -> np.ndarray:
    """(C,) target weights rescaled to sum to 1, or a ValueError saying what to fix."""
    p = np.asarray(target, dtype=np.float64)
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("target must be a 1-D array of non-negative category weights with a "
                         "positive sum (e.g. the user's category shares), one per category code")
    return p / p.sum()


def _minmax(r: np.ndarray) -> np.ndarray:
    """(n,) relevance mapped to [0, 1]; all zeros when every score is equal."""
    if len(r) == 0:
        return r
    lo, span = r.min(), np.ptp(r)
    return (r - lo) / span if span > 0 else np.zeros_like(r)


def _relevance_order(r: np.ndarray) -> np.ndarray:
    """(n,) int64 positions by decreasing relevance; ties keep the lower position first."""
    return np.argsort(-r, kind="stable").astype(np.int64)
