"""Re-ranking latency per shopper on the CPU: 500 candidates re-ranked to a top 10.

Times the functions of recdash.rerank.methods (MMR of Carbonell & Goldstein 1998, lam 0.7; the
fast greedy DPP of Chen et al. NeurIPS 2018, theta 0.7; a category cap; Steck's calibration
RecSys 2018, lam 0.5) one shopper per call, as the studio calls them, and the peer measured in
the same run on the same inputs: a plain top-10 of the 500 relevances (np.argpartition, then a
sort of those 10), the cost of serving without re-ranking. Inputs are synthetic, which latency
does not depend on beyond their sizes: random unit 64-dim vectors, uniform random relevance, 20
categories drawn uniformly and a Dirichlet target per shopper. Methods are interleaved per
shopper so that background load hits all of them alike; each pass times every method on 2,000
shoppers after a warm-up, and the table gives the median over passes of p50 and p99 of the wall
time, and the p99 of the thread's CPU time (which leaves out time preempted by other processes).
Goal: p99 <= 5 ms for MMR and DPP.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/rerank_latency.py [--users 2000] [--passes 3]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np

from common import machine, markdown_table, summarise, write_json
from recdash.rerank import methods

N_CANDIDATES, K, DIM, N_CATEGORIES = 500, 10, 64, 20
GOAL_P99_MS = 5.0  # for MMR and DPP


def top_k_sort(relevance: np.ndarray, k: int) -> np.ndarray:
    """The peer: the k best positions, best first, without re-ranking."""
    top = np.argpartition(-relevance, k)[:k]
    return top[np.argsort(-relevance[top], kind="stable")]


def shopper(rng: np.random.Generator) -> dict:
    """One shopper's synthetic candidates."""
    vectors = rng.normal(size=(N_CANDIDATES, DIM))
    return {"relevance": rng.random(N_CANDIDATES),
            "vectors": vectors / np.linalg.norm(vectors, axis=1, keepdims=True),  # (500, 64)
            "categories": rng.integers(0, N_CATEGORIES, N_CANDIDATES),
            "target": rng.dirichlet(np.ones(N_CATEGORIES))}


# name -> (setting shown in the table, call on one shopper's inputs)
METHODS: dict[str, tuple[str, Callable[[dict], np.ndarray]]] = {
    "top-10 sort (peer)": ("argpartition + argsort",
                           lambda s: top_k_sort(s["relevance"], K)),
    "MMR": ("lam 0.7", lambda s: methods.mmr(s["relevance"], s["vectors"], K, 0.7)),
    "DPP": ("theta 0.7", lambda s: methods.dpp(s["relevance"], s["vectors"], K, 0.7)),
    "category cap": ("cap 2", lambda s: methods.category_cap(s["relevance"], s["categories"],
                                                             K, 2)),
    "calibrate": ("lam 0.5", lambda s: methods.calibrate(s["relevance"], s["categories"],
                                                         s["target"], K, 0.5)),
}


def one_pass(users: int, warmup: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Per-call wall and thread-CPU milliseconds of every method over `users` shoppers.

    CPU time leaves out the time the thread waited while the scheduler ran something else, so
    a gap between the two p99s is background load, not the method.
    """
    rng = np.random.default_rng(seed)
    times = {name: {"wall": np.empty(users), "cpu": np.empty(users)} for name in METHODS}
    for u in range(-warmup, users):
        inputs = shopper(rng)  # generated outside the timed calls
        for name, (_, call) in METHODS.items():
            cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
            call(inputs)
            wall, cpu = time.perf_counter_ns() - wall, time.thread_time_ns() - cpu
            if u >= 0:
                times[name]["wall"][u], times[name]["cpu"][u] = wall / 1e6, cpu / 1e6
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2000, help="timed shoppers per pass")
    ap.add_argument("--warmup", type=int, default=100, help="untimed shoppers before each pass")
    ap.add_argument("--passes", type=int, default=3, help="passes (median of p50 and p99 shown)")
    args = ap.parse_args()

    info = machine()
    passes = [one_pass(args.users, args.warmup, seed) for seed in range(args.passes)]
    results = {}
    for name, (setting, _) in METHODS.items():
        results[name] = {"setting": setting}
        for clock in ("wall", "cpu"):
            for q in (50, 99):
                results[name][f"{clock}_p{q}_ms"] = summarise(
                    [float(np.percentile(p[name][clock], q)) for p in passes])
    peer = results["top-10 sort (peer)"]["wall_p50_ms"]["median"]
    rows = []
    for name, r in results.items():
        p50, p99 = r["wall_p50_ms"]["median"], r["wall_p99_ms"]["median"]
        r["p50_ratio_to_peer"] = p50 / peer
        goal = ("yes" if p99 <= GOAL_P99_MS else "no") if name in ("MMR", "DPP") else ""
        rows.append([name, r["setting"], f"{p50:.3f}", f"{p99:.3f}",
                     f"{r['wall_p99_ms']['max']:.3f}", f"{r['cpu_p99_ms']['median']:.3f}",
                     f"{p50 / peer:.0f}x", goal])
    table = markdown_table(["method", "setting", "p50 ms", "p99 ms", "worst-pass p99 ms",
                            "p99 CPU-time ms", "p50 / top-10 sort", f"p99 <= {GOAL_P99_MS:g} ms"],
                           rows)
    print(table)
    load_end = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average at start {info['load_average_at_start']}, at end {load_end} "
          f"({info['cores_usable']} usable cores); {info['cpu']}")
    write_json("rerank_latency.json", {
        "benchmark": "rerank_latency",
        "setup": {"candidates": N_CANDIDATES, "k": K, "dim": DIM, "categories": N_CATEGORIES,
                  "users_per_pass": args.users, "warmup_users": args.warmup,
                  "passes": args.passes,
                  "inputs": "synthetic: random unit 64-dim vectors, uniform random relevance, "
                            "uniform categories, Dirichlet(1) target per shopper",
                  "goal": f"p99 <= {GOAL_P99_MS:g} ms for MMR and DPP"},
        "results": results,
        "load_average_at_end": load_end,
        "machine": info,
    })


if __name__ == "__main__":
    main()
