"""Re-rankers: known orders at the trade-off ends, the permutation contract, caps, calibration,
and the fast DPP against a brute-force greedy determinant maximisation."""

from __future__ import annotations

import numpy as np
import pytest

from recdash.rerank import methods as R
from recdash.rerank import metrics as M

SEEDS = range(40)


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _case(seed: int) -> dict:
    """A random candidate set with ties in relevance, so stable tie-breaking is exercised."""
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 40)), int(rng.integers(1, 6))
    return {"rng": rng, "n": n, "k": int(rng.integers(1, 15)),
            "rel": rng.integers(0, 5, size=n).astype(float) * 3.0 - 4.0,  # ties, any scale
            "vec": _unit(rng, n, 8), "cat": rng.integers(0, c, size=n),
            "target": rng.dirichlet(np.ones(c)), "nov": rng.random(n)}


def _all_methods(case: dict) -> dict[str, np.ndarray]:
    rel, vec, cat, k = case["rel"], case["vec"], case["cat"], case["k"]
    return {"mmr": R.mmr(rel, vec, k, 0.5), "mmr0": R.mmr(rel, vec, k, 0.0),
            "dpp": R.dpp(rel, vec, k, 0.7), "dpp0": R.dpp(rel, vec, k, 0.0),
            "cap": R.category_cap(rel, cat, k, 2),
            "cal": R.calibrate(rel, cat, case["target"], k, 0.5),
            "nov": R.novelty_boost(rel, case["nov"], k, 0.3)}


@pytest.mark.parametrize("seed", SEEDS)
def test_relevance_only_settings_reproduce_the_stable_relevance_order(seed):
    case = _case(seed)
    rel, k = case["rel"], case["k"]
    expected = np.argsort(-rel, kind="stable")[:k]
    np.testing.assert_array_equal(R.mmr(rel, case["vec"], k, 1.0), expected)
    np.testing.assert_array_equal(R.dpp(rel, case["vec"], k, 0.999), expected)
    np.testing.assert_array_equal(R.dpp(rel, case["vec"], k, 1.0), expected)
    np.testing.assert_array_equal(R.calibrate(rel, case["cat"], case["target"], k, 0.0), expected)
    np.testing.assert_array_equal(R.novelty_boost(rel, case["nov"], k, 0.0), expected)
    np.testing.assert_array_equal(R.category_cap(rel, case["cat"], k, k), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_method_returns_distinct_valid_positions(seed):
    case = _case(seed)
    for name, out in _all_methods(case).items():
        assert out.dtype == np.int64, name
        assert len(np.unique(out)) == len(out), f"{name} repeats an item: {out}"
        assert np.all((out >= 0) & (out < case["n"])), name
        if name != "cap":
            assert len(out) == min(case["k"], case["n"]), name


def test_first_pick_is_the_most_relevant_even_for_diversity_only():
    rng = np.random.default_rng(3)
    rel, vec = rng.random(12), _unit(rng, 12, 5)
    top = int(np.argmax(rel))
    assert R.mmr(rel, vec, 4, 0.0)[0] == top
    assert R.dpp(rel, vec, 4, 0.0)[0] == top
    assert R.calibrate(rel, rng.integers(0, 3, 12), np.ones(3), 4, 1.0)[0] == top


@pytest.mark.parametrize("seed", SEEDS)
def test_category_caps_hold_and_the_list_shortens_when_k_is_impossible(seed):
    case = _case(seed)
    for cap in (1, 2, 3):
        out = R.category_cap(case["rel"], case["cat"], case["k"], cap)
        counts = np.bincount(case["cat"][out]) if len(out) else np.zeros(1)
        assert counts.max() <= cap
        possible = np.minimum(np.bincount(case["cat"]), cap).sum()
        assert len(out) == min(case["k"], possible)
        # The list is the relevance walk: every skipped better item was over its cap.
        order = np.argsort(-case["rel"], kind="stable")
        assert np.array_equal(out, order[np.isin(order, out)][: len(out)])


def test_category_cap_known_answer():
    rel = np.array([9.0, 8.0, 7.0, 6.0, 5.0])
    cat = np.array([0, 0, 0, 1, 1])
    np.testing.assert_array_equal(R.category_cap(rel, cat, 5, 1), [0, 3])
    np.testing.assert_array_equal(R.category_cap(rel, cat, 3, 2), [0, 1, 3])


def _brute_force_greedy(rel: np.ndarray, vec: np.ndarray, k: int, theta: float) -> list[int]:
    """Greedy det(L[S+i, S+i]) maximisation; near-ties (theta 0's first pick) go to relevance."""
    r = (rel - rel.min()) / np.ptp(rel)
    q = np.exp(theta / (2 * (1 - theta)) * r)
    kernel = q[:, None] * (vec @ vec.T) * q[None, :]
    chosen: list[int] = []
    for _ in range(k):
        best, best_logdet = -1, -np.inf
        for i in np.argsort(-rel, kind="stable"):
            if i in chosen:
                continue
            idx = chosen + [int(i)]
            sign, logdet = np.linalg.slogdet(kernel[np.ix_(idx, idx)])
            if sign > 0 and logdet > best_logdet + 1e-9:
                best, best_logdet = i, logdet
        chosen.append(int(best))
    return chosen


@pytest.mark.parametrize("seed", range(60))
def test_fast_dpp_matches_brute_force_greedy_determinants(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(8, 21)), int(rng.integers(3, 7))
    d = k + int(rng.integers(1, 6))
    rel, vec = rng.normal(size=n), _unit(rng, n, d)
    theta = float(rng.choice([0.0, 0.3, 0.7, 0.9]))
    assert R.dpp(rel, vec, k, theta).tolist() == _brute_force_greedy(rel, vec, k, theta)


def test_dpp_fills_in_relevance_order_once_the_kernel_rank_is_spent():
    rng = np.random.default_rng(0)
    rel, vec = rng.random(10), _unit(rng, 10, 2)  # rank 2: only two diverse picks exist
    out = R.dpp(rel, vec, 6, 0.5)
    assert len(out) == 6 and len(set(out.tolist())) == 6
    rest = [i for i in np.argsort(-rel, kind="stable") if i not in out[:2]]
    assert out[2:].tolist() == rest[:4]


def test_calibration_lowers_kl_when_relevance_favours_one_category():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n, c = 60, 4
        cat = rng.integers(0, c, n)
        rel = rng.random(n) + 2.0 * (cat == 0)  # category 0 fills the relevance top 10
        target = rng.dirichlet(np.ones(c) * 5)
        plain = np.argsort(-rel, kind="stable")[:10]
        calibrated = R.calibrate(rel, cat, target, 10, 0.5)
        assert M.calibration_kl(target, cat[calibrated], c) < \
            M.calibration_kl(target, cat[plain], c) - 0.5


@pytest.mark.parametrize("seed", range(20))
def test_calibrate_matches_a_greedy_scan_of_the_full_objective(seed):
    rng = np.random.default_rng(seed)
    n, c, k, lam = 25, 4, 8, float(rng.uniform(0.1, 0.9))
    rel, cat, target = rng.normal(size=n), rng.integers(0, c, n), rng.dirichlet(np.ones(c))
    r = (rel - rel.min()) / np.ptp(rel)
    chosen: list[int] = []
    for _ in range(k):
        rest = [i for i in range(n) if i not in chosen]
        gains = [(1 - lam) * r[chosen + [i]].sum()
                 - lam * M.calibration_kl(target, cat[chosen + [i]], c) for i in rest]
        chosen.append(rest[int(np.argmax(gains))])
    assert R.calibrate(rel, cat, target, k, lam).tolist() == chosen


def test_mmr_breaks_up_near_duplicates():
    rng = np.random.default_rng(2)
    base = np.linalg.qr(rng.normal(size=(16, 5)))[0].T  # (5, 16) orthonormal items
    # Three near-copies of each of 5 items; copies of items 0 and 1 hold the top relevance.
    vec = np.repeat(base, 3, axis=0) + 0.01 * rng.normal(size=(15, 16))
    rel = np.repeat([1.0, 0.9, 0.5, 0.4, 0.3], 3) + 0.01 * rng.random(15)
    plain = np.argsort(-rel, kind="stable")[:5]
    diverse = R.mmr(rel, vec, 5, 0.3)
    assert M.intra_list_diversity(vec[diverse]) > M.intra_list_diversity(vec[plain]) + 0.3
    assert len({int(i) // 3 for i in diverse}) == 5  # one copy of each original item


def test_novelty_boost_lifts_novel_items():
    rel = np.array([1.0, 0.9, 0.0])
    nov = np.array([0.0, 0.5, 1.0])
    np.testing.assert_array_equal(R.novelty_boost(rel, nov, 3, 0.0), [0, 1, 2])
    np.testing.assert_array_equal(R.novelty_boost(rel, nov, 3, 0.5), [1, 0, 2])  # 1.15 > 1.0
    np.testing.assert_array_equal(R.novelty_boost(rel, nov, 3, 2.0), [2, 1, 0])


def test_unnormalised_vectors_are_normalised_inside():
    rng = np.random.default_rng(4)
    rel, vec = rng.random(15), _unit(rng, 15, 6)
    scaled = vec * rng.uniform(0.1, 10, size=(15, 1))
    np.testing.assert_array_equal(R.mmr(rel, scaled, 5, 0.6), R.mmr(rel, vec, 5, 0.6))
    np.testing.assert_array_equal(R.dpp(rel, scaled, 5, 0.6), R.dpp(rel, vec, 5, 0.6))


def test_zero_and_huge_vectors_are_handled():
    rel = np.array([3.0, 2.0, 1.0, 0.0])
    vec = np.array([[0.0, 0.0], [1e200, 0.0], [0.0, 1e200], [1.0, 1.0]])
    # The zero row has no direction: the DPP picks it only when filling by relevance.
    assert R.dpp(rel, vec, 4, 0.5).tolist() == [1, 2, 0, 3]
    assert sorted(R.mmr(rel, vec, 4, 0.5).tolist()) == [0, 1, 2, 3]


def test_empty_candidates_give_an_empty_list():
    empty = np.empty(0)
    assert R.mmr(empty, np.empty((0, 3)), 5, 0.5).shape == (0,)
    assert R.dpp(empty, np.empty((0, 3)), 5, 0.5).shape == (0,)
    assert R.category_cap(empty, np.empty(0, dtype=int), 5, 1).shape == (0,)


@pytest.mark.parametrize("call, message", [
    (lambda: R.mmr(np.ones(3), np.ones((4, 2)), 2, 0.5), "one row per"),
    (lambda: R.mmr(np.ones(3), np.ones((3, 2)), 0, 0.5), "positive integer"),
    (lambda: R.mmr(np.ones(3), np.ones((3, 2)), 2, 1.5), r"lam must be in \[0, 1\]"),
    (lambda: R.mmr(np.array([1.0, np.nan]), np.ones((2, 2)), 2, 0.5), "NaN"),
    (lambda: R.dpp(np.ones(3), np.ones((3, 2)), 2, -0.1), "theta"),
    (lambda: R.dpp(np.ones(2), np.array([[1.0, np.nan], [1.0, 0.0]]), 2, 0.5), "embeddings"),
    (lambda: R.category_cap(np.ones(3), np.array([0, 1]), 2, 1), "one code per"),
    (lambda: R.category_cap(np.ones(3), np.array([0.5, 1, 2]), 2, 1), "integer codes"),
    (lambda: R.category_cap(np.ones(3), np.zeros(3, int), 2, 0), "cap"),
    (lambda: R.calibrate(np.ones(3), np.array([0, 1, 2]), np.ones(2), 2, 0.5), "one entry per"),
    (lambda: R.calibrate(np.ones(2), np.array([0, 1]), np.array([1.0, -1.0]), 2, 0.5), "target"),
    (lambda: R.novelty_boost(np.ones(2), np.array([0.5, 2.0]), 2, 0.1), "rescale"),
])
def test_bad_inputs_say_how_to_fix_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
