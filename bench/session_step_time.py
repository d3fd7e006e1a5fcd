"""Seconds per training step of the attention ranker on YOOCHOOSE 1/64, repeat bonus off against
on, measured in the same process in alternating rounds (one CPU thread).

The step is `recdash.models.attention.train._loss` + backward + AdamW, on the batches the
`train --pairs` command trains on (the dataset minus the pairs file's test sessions, every
position, 128 sessions a batch, history 20), with the 15-minute recipe's network (width 64, 2
layers, score scale 12, recency positions, ID only) and sampled softmax over 4,000 negatives.
It tells how fast this machine trains the recipe, and what the bonus costs per step.

Usage (from the repository root; WS holds the imported `yc` dataset, see BENCHMARKS.md):
    OMP_NUM_THREADS=1 .venv/bin/python bench/session_step_time.py --workspace WS [--steps 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from common import DEFAULT_DATASETS, machine, write_json

OUT = "session_step_time.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--datasets", default=DEFAULT_DATASETS)
    parser.add_argument("--steps", type=int, default=40, help="steps per round (5 warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of off, then on")
    args = parser.parse_args()

    import torch

    from recdash.data import schema as S
    from recdash.data.splits import every_position, make_split
    from recdash.eval.pairs import read_pairs
    from recdash.models.attention.config import AttentionConfig, TrainConfig
    from recdash.models.attention.model import AttentionRankerNet
    from recdash.models.attention.train import _loss, _make_batch, _training_rows
    from recdash.workspace import Workspace

    torch.set_num_threads(1)
    start_machine = machine()
    ds = Workspace(args.workspace).load_dataset("yc")
    pairs = read_pairs(f"{args.datasets}/yoochoose-1-64/test_pairs.tsv.gz")
    events = ds.interactions[~ds.interactions[S.USER].isin(pairs.sessions)]
    split = every_position(make_split(events, ds.catalog, "loo", candidates="interacted"))
    rows = _training_rows(split, 20)
    counts = np.bincount(split.train().items, minlength=split.n_items).astype(np.float64)
    log_q = torch.from_numpy(np.log((counts + 1.0) / (counts + 1.0).sum())).float()
    perm = np.random.default_rng(0).permutation(len(rows[0]))
    seconds: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for bonus in ("off", "on"):
            cfg = AttentionConfig(n_items=split.n_items, max_len=20, dim=64, score_scale=12.0,
                                  recency_positions=True, repeat_bonus=bonus,
                                  use_category=False, use_brand=False, use_price=False)
            torch.manual_seed(0)
            net = AttentionRankerNet(cfg)
            opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
            train = TrainConfig(loss="sampled", n_negatives=4000)
            gen = torch.Generator().manual_seed(7)
            times = []
            for b in range(args.steps):
                batch, targets = _make_batch(rows, perm[b * 128:(b + 1) * 128], 20,
                                             torch.device("cpu"))
                t0 = time.perf_counter()
                loss = _loss(net, batch, targets, train, log_q, gen)
                opt.zero_grad()
                loss.backward()
                opt.step()
                times.append(time.perf_counter() - t0)
            seconds[bonus].append(statistics.median(times[5:]))
    result = {
        "benchmark": "session_step_time",
        "machine": start_machine,
        "steps_per_epoch": len(rows[0]) // 128,
        "median_step_s": {k: round(statistics.median(v), 4) for k, v in seconds.items()},
        "rounds_step_s": {k: [round(x, 4) for x in v] for k, v in seconds.items()},
    }
    result["on_over_off"] = round(result["median_step_s"]["on"] /
                                  result["median_step_s"]["off"], 3)
    result["epoch_s_estimate"] = {k: round(v * result["steps_per_epoch"], 1)
                                  for k, v in result["median_step_s"].items()}
    path = write_json(OUT, result)
    print(f"step s: off {result['median_step_s']['off']}, on {result['median_step_s']['on']} "
          f"(on/off {result['on_over_off']}); {path}")


if __name__ == "__main__":
    main()
