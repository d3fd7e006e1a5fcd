"""Memory and scale: the attention ranker on a 1,000,000-item catalog with 10,000,000 events,
trained with sampled softmax (logQ-corrected), on the CPU.

The shop is synthetic (200,000 shoppers x 50 events over 1M items with Zipf popularity and
sequential structure) and built directly as flat arrays, because the point is the model's
memory and time at this size, not the importer's. Training runs under a wall-time cap; the
figures are the steps and events it got through, peak RSS, the checkpoint's size, and a
full-ranking evaluation over all 1M items on a sample of test users.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from recdash.data.sequences import Sequences
from recdash.data.splits import _loo
from recdash.eval.evaluate import evaluate
from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig
from recdash.models.base import TrainData


def synthetic(n_items: int, n_users: int, length: int, seed: int = 0):
    """Sequences where each next item is usually a near neighbour of the previous one."""
    rng = np.random.default_rng(seed)
    start = (rng.zipf(1.2, n_users) * 7919) % n_items
    steps = rng.integers(1, 4, (n_users, length - 1))
    jump = rng.random((n_users, length - 1)) < 0.2
    far = (rng.zipf(1.2, (n_users, length - 1)) * 104729) % n_items
    seq = np.empty((n_users, length), dtype=np.int64)
    seq[:, 0] = start
    for t in range(1, length):
        seq[:, t] = np.where(jump[:, t - 1], far[:, t - 1], (seq[:, t - 1] + steps[:, t - 1]))
    seq %= n_items
    offsets = np.arange(0, n_users * length + 1, length, dtype=np.int64)
    flat = seq.ravel().astype(np.int32)
    seqs = Sequences(offsets, flat, np.zeros(len(flat), np.int8), np.full(len(flat), np.nan))
    items = np.array([f"i{k}" for k in range(n_items)], dtype=object)
    users = np.array([f"u{k}" for k in range(n_users)], dtype=object)
    return _loo(items, users, seqs, seqs.lengths, "interacted", 0, [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--length", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--negatives", type=int, default=2000)
    ap.add_argument("--eval-users", type=int, default=2000)
    ap.add_argument("--out", default="bench/results/attention_scale.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    split = synthetic(args.items, args.users, args.length)
    build_s = time.time() - t0
    steps: list[float] = []
    done = {"steps": 0}

    def on_event(ev) -> None:
        if ev.kind == "step":
            done["steps"] = ev.step
        if ev.kind == "step" and ev.step % 200 == 0:
            steps.append(ev.items_per_s)
            print(f"step {ev.step}/{ev.steps_per_epoch} loss {ev.loss:.3f} "
                  f"{ev.items_per_s:,.0f} events/s", flush=True)

    cfg = AttentionConfig(n_items=0, max_len=args.length, dim=64, n_layers=2, n_heads=1,
                          use_text=False, use_event=False, use_time_gap=False)
    train = TrainConfig(epochs=1, batch_size=256, loss="sampled", n_negatives=args.negatives,
                        valid_users=1000, device="cpu", max_minutes=args.minutes,
                        checkpoint_minutes=args.minutes / 2)
    with tempfile.TemporaryDirectory() as run:
        ranker = AttentionRanker(cfg, train, run_dir=run, on_event=on_event)
        t1 = time.time()
        ranker.fit(TrainData.from_split(split))
        fit_s = time.time() - t1
        ckpt = sum(p.stat().st_size for p in Path(run).rglob("*") if p.is_file())
        t2 = time.time()
        res = evaluate(ranker, split, ks=(10, 50), max_users=args.eval_users)
        eval_s = time.time() - t2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"items": args.items, "users": args.users, "events": int(len(split.sequences.items)),
           "negatives": args.negatives, "minutes_cap": args.minutes, "build_seconds": build_s,
           "fit_seconds": fit_s, "steps": done["steps"],
           "steps_per_epoch": -(-args.users // train.batch_size),
           "stopped": ranker.result.stopped, "events_per_s_last": steps[-1] if steps else None,
           "peak_rss_mib": peak, "checkpoint_mib": ckpt / 2**20,
           "eval_seconds": eval_s, "eval_users": args.eval_users,
           "protocol": res.protocol.label(), "metrics": {k: v for k, v in res.metrics.items()
                                                         if "@" in k and k[0] in "HNR"},
           "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/attention_scale.py",
           "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
