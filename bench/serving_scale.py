"""Scoring many histories through the one serving path, on one CPU thread, in bounded memory.

`recdash.recommend.Service.recommend` scores 60,000 histories over a 43,000-item catalog (the
attention ranker, 2 layers, dim 64, histories cut to 50 events) in batches of BATCH histories,
top-10 each with the shop's IDs and titles. Each measurement runs in a fresh process so that its
peak resident memory (ru_maxrss) is its own. The peer, measured in the same run: the same
histories served one call per history (what a page or the CLI did per shopper before the
serving path batched them), timed on a sample and scaled to the whole set.

The histories are real: Amazon Games' 50,546 shoppers' item sequences (mapped onto the
catalog's first 16,859 items) and more drawn from the same length distribution up to 60,000;
the remaining items have no events (new products, scored by their text and category towers).
Latency does not depend on the weights' values, so the network is freshly initialised.
Goal: <= 30 s for all 60,000 histories.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, markdown_table, require_datasets, write_json  # noqa: E402

N_ITEMS, N_HISTORIES, MAX_LEN, K = 43_000, 60_000, 50, 10
PEER_SAMPLE = 2_000


def games_sequences(datasets: Path) -> list[list[int]]:
    """Amazon Games' item sequences, as 0-based item codes in order of first appearance."""
    import pandas as pd

    folder = require_datasets(datasets, ["amazon-games"]) / "amazon-games"
    seqs: list[list[int]] = []
    codes: dict[str, int] = {}
    frame = pd.read_csv(folder / "Games-6k.test.inter", sep="\t")  # every user: history + target
    hist = [c for c in frame.columns if c.startswith("item_id_list")][0]
    target = [c for c in frame.columns if c.startswith("item_id") and c != hist][0]
    for h, t in zip(frame[hist].astype(str), frame[target].astype(str)):
        seqs.append([codes.setdefault(i, len(codes)) for i in h.split() + [t]])
    return seqs


def build(datasets: Path, n_items: int, n_histories: int):
    """(service, histories): an attention ranker over n_items and n_histories real-shaped
    histories."""
    import numpy as np
    import pandas as pd
    import torch

    from recdash.data import schema as S
    from recdash.data.dataset import Dataset
    from recdash.data.report import ValidationReport
    from recdash.models.attention import AttentionConfig, AttentionRanker, AttentionRankerNet
    from recdash.recommend import History, Service

    real = games_sequences(datasets)
    rng = np.random.default_rng(0)
    lengths = np.array([len(s) for s in real])
    extra = [rng.integers(0, n_items, size=int(n)).tolist()
             for n in rng.choice(lengths, max(0, n_histories - len(real)))]
    seqs = (real + extra)[:n_histories]
    histories = [History(np.asarray(s[-MAX_LEN:], np.int32) % n_items,
                         np.zeros(min(len(s), MAX_LEN), np.int8),
                         np.full(min(len(s), MAX_LEN), np.nan)) for s in seqs]
    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=n_items, max_len=MAX_LEN, dim=64,
                                             n_layers=2, dropout=0.0, n_categories=50))
    items = np.array([f"i{k:05d}" for k in range(n_items)], dtype=object)
    catalog = pd.DataFrame({S.ITEM: items, S.TITLE: [f"Product {k}" for k in range(n_items)],
                            S.CATEGORY: [f"c{k % 50}" for k in range(n_items)],
                            S.PRICE: np.round(rng.uniform(1, 100, n_items), 2)})
    ds = Dataset("bench", pd.DataFrame(columns=[S.USER, S.ITEM]), catalog, ValidationReport())
    return Service(AttentionRanker.from_network(net, items), ds), histories


def measure(mode: str, datasets: Path, n_items: int, n_histories: int) -> dict:
    """One measurement in this process (run by `main` in a child process)."""
    import torch

    torch.set_num_threads(1)
    service, histories = build(datasets, n_items, n_histories)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mode == "batched":
        start = time.perf_counter()
        recs = service.recommend(histories, None, K)
        seconds = time.perf_counter() - start
        served = len(histories)
        assert len(recs) == K * served
    else:  # one call per history, on a sample
        sample = histories[:PEER_SAMPLE]
        start = time.perf_counter()
        for h in sample:
            service.recommend([h], None, K)
        seconds = (time.perf_counter() - start) * len(histories) / len(sample)
        served = len(sample)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "seconds": seconds, "histories_timed": served,
            "histories": len(histories), "items": n_items, "peak_rss_mb": peak_mb,
            "rss_before_scoring_mb": base_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--items", type=int, default=N_ITEMS)
    ap.add_argument("--histories", type=int, default=N_HISTORIES)
    ap.add_argument("--child", choices=("batched", "one-by-one"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, Path(args.datasets), args.items, args.histories)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    load = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {"batched": [], "one-by-one": []}
    for _ in range(args.repeats):
        for mode in runs:
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--datasets",
                                  args.datasets, "--items", str(args.items), "--histories",
                                  str(args.histories)], capture_output=True, text=True,
                                 env=env, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows, summary = [], {}
    for mode, results in runs.items():
        secs = [r["seconds"] for r in results]
        summary[mode] = {"median_s": statistics.median(secs), "min_s": min(secs),
                         "max_s": max(secs), "peak_rss_mb": max(r["peak_rss_mb"]
                                                                for r in results),
                         "rss_before_scoring_mb": results[0]["rss_before_scoring_mb"],
                         "histories_timed": results[0]["histories_timed"], "runs": results}
    ratio = summary["one-by-one"]["median_s"] / summary["batched"]["median_s"]
    for mode in runs:
        s = summary[mode]
        rows.append([mode + (" (peer, scaled from a sample)" if mode != "batched" else ""),
                     f"{s['median_s']:.1f}", f"{s['min_s']:.1f}-{s['max_s']:.1f}",
                     f"{s['rss_before_scoring_mb']:.0f}", f"{s['peak_rss_mb']:.0f}"])
    payload = {"machine": machine(), "load_average_1m_before": load, "items": args.items,
               "histories": args.histories, "k": K, "max_len": MAX_LEN, "threads": 1,
               "goal_s": 30, "speedup_vs_one_by_one": ratio, **summary}
    write_json("serving_scale.json", payload)
    print(markdown_table(["path", "median s", "min-max s", "RSS before scoring MB",
                          "peak RSS MB"], rows))
    print(f"\nbatched is {ratio:.1f}x faster than one call per history; "
          f"1-min load average before: {load:.2f}")


if __name__ == "__main__":
    main()
