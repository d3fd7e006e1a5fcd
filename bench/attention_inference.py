"""Serving latency of the attention ranker on the CPU.

1. Top-10 for one shopper (history of 50 events) over a 100,000-item catalog: p50 and p99 of
   repeated single-user calls, against the popularity model's call (the floor: the same
   interface and top-k, no network) measured in the same run. Goal: p99 <= 10 ms.
2. Top-10 for all 6,040 ML-1M users in one batch job (3,416 items, histories up to 200):
   wall time, median of repeats, against EASE's batch job in the same run. Goal: < 10 s.
Latency does not depend on the weights' values, so the network is freshly initialised.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from recdash.data.sequences import Sequences
from recdash.models import EASE, Popularity
from recdash.models.attention import AttentionConfig, AttentionRanker, AttentionRankerNet
from recdash.models.base import TrainData
from recdash.recommend import History, Service


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def synthetic(n_items: int, n_users: int, length: int, seed: int = 0) -> TrainData:
    rng = np.random.default_rng(seed)
    lists = [rng.zipf(1.3, length) % n_items for _ in range(n_users)]
    return TrainData(np.array([f"i{k}" for k in range(n_items)], dtype=object),
                     np.array([f"u{k}" for k in range(n_users)], dtype=object),
                     Sequences.from_lists(lists))


def ranker_for(data: TrainData, max_len: int) -> AttentionRanker:
    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=data.n_items, max_len=max_len, dim=64,
                                             n_layers=2, dropout=0.0))
    return AttentionRanker.from_network(net, data.items, data)


def latencies(call, repeats: int) -> np.ndarray:
    for _ in range(10):
        call()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append(1000 * (time.perf_counter() - t))
    return np.array(out)


def single_user(repeats: int) -> dict:
    data = synthetic(100_000, 1000, 50)
    att, pop = ranker_for(data, 200), Popularity().fit(data)
    hist = [History(data.sequences[0], np.zeros(50, np.int8), np.full(50, np.nan))]
    rows = {}
    for name, model in (("attention", att), ("popularity (peer)", pop)):
        service = Service(model)
        ms = latencies(lambda: service.recommend(hist, ["u0"], k=10), repeats)
        rows[name] = {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
                      "calls": repeats}
    return rows


def all_users(repeats: int, datasets: Path) -> dict:
    from recdash.data.dataset import prepare_public
    from recdash.data.splits import make_split

    ds, _ = prepare_public("ml-1m", datasets / "ml-1m", kcore=5)
    split = make_split(ds.interactions, ds.catalog, "loo", kcore=5, candidates="interacted")
    data = TrainData.from_split(split, ds.catalog)
    models = {"attention": ranker_for(data, 200), "EASE (peer)": EASE().fit(data)}
    users = list(split.users)
    rows = {}
    for name, model in models.items():
        secs = []
        for _ in range(repeats):
            t = time.perf_counter()
            recs = Service(model).recommend_users(users, k=10)
            secs.append(time.perf_counter() - t)
        assert len(recs) == 10 * len(users)
        rows[name] = {"median_s": float(np.median(secs)), "min_s": float(min(secs)),
                      "max_s": float(max(secs)), "repeats": repeats, "users": len(users)}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/results/attention_inference.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    single = single_user(args.calls)
    batch = all_users(args.repeats, Path(args.datasets))
    result = {"machine": {"cpu": cpu_name(), "torch": torch.__version__, "threads": 1,
                          "date": time.strftime("%Y-%m-%d")},
              "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/attention_inference.py",
              "single_user_100k_items": single, "all_ml1m_users": batch}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("| top-10, one user, 100k items | p50 ms | p99 ms |\n|--|--|--|")
    for k, v in single.items():
        print(f"| {k} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} |")
    print("\n| top-10, all 6,040 ML-1M users | median s | min-max s |\n|--|--|--|")
    for k, v in batch.items():
        print(f"| {k} | {v['median_s']:.2f} | {v['min_s']:.2f}-{v['max_s']:.2f} |")


if __name__ == "__main__":
    main()
