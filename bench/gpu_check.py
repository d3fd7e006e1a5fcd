"""CUDA check and timing of the attention ranker, in one run (see bench/gpu_check.sh).

1. Correctness: a model trained on the CPU, reloaded on the device, gives the CPU's scores; and
   training on the device (bf16 autocast, fused AdamW) learns a task whose answer is known.
2. ML-1M (5-core, leave-one-out, full ranking): train on the device, recording validation
   NDCG@10 after every epoch with wall time, the time to reach 0.16 and 0.18, seconds per
   epoch, peak GPU memory, and test NDCG@10 / HR@10 of the best epoch.
3. RecBole 1.2.1's SASRec on the same data when `recbole` is importable (it is not installed by
   this project; on a host without it this part says so and is skipped).
Runs on the CPU too (`--device cpu --minutes 0.5`), which is how the script itself is tested.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from recdash.data.dataset import prepare_public
from recdash.data.splits import make_split
from recdash.eval.evaluate import evaluate
from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig
from recdash.models.base import TrainData


def correctness(device: str) -> dict:
    from tests.models.test_attention import cyclic_data, small  # the known-answer task

    ds, split = cyclic_data()
    data = TrainData.from_split(split, ds.catalog)
    torch.backends.cuda.matmul.allow_tf32 = False
    with tempfile.TemporaryDirectory() as run:
        cpu = AttentionRanker(small(), TrainConfig(epochs=3, batch_size=32, device="cpu",
                                                   checkpoint_minutes=0), run_dir=run).fit(data)
        hist = [split.train()[u] for u in range(20)]
        moved = AttentionRanker.load(run, data, device=device)
        diff = float(np.abs(moved.score(hist) - cpu.score(hist)).max())
    with tempfile.TemporaryDirectory() as run:
        dev = AttentionRanker(small(), TrainConfig(epochs=30, batch_size=32, lr=5e-3, patience=30,
                                                   device=device, checkpoint_minutes=0),
                              run_dir=run).fit(data)
        hr1 = evaluate(dev, split, ks=(1,)).metrics["HR@1"]
    return {"max_abs_score_diff_cpu_vs_device": diff, "device_trained_hr_at_1": hr1,
            "ok": diff < 1e-3 and hr1 > 0.9}


def ml1m(datasets: Path, device: str, minutes: float, batch: int) -> dict:
    ds, _ = prepare_public("ml-1m", datasets / "ml-1m", kcore=5)
    split = make_split(ds.interactions, ds.catalog, "loo", kcore=5, candidates="interacted")
    curve: list[dict] = []

    def on_event(ev) -> None:
        if ev.kind == "epoch":
            curve.append({"epoch": ev.epoch, "seconds": ev.elapsed_s, "valid_ndcg": ev.valid_ndcg,
                          "loss": ev.loss, "items_per_s": ev.items_per_s})
            print(f"epoch {ev.epoch} {ev.elapsed_s:.1f}s valid NDCG@10 {ev.valid_ndcg:.4f}",
                  flush=True)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    cfg = AttentionConfig(n_items=0, max_len=200, dim=64, n_layers=2, n_heads=1, dropout=0.2,
                          use_text=False, use_category=False, use_brand=False, use_price=False)
    with tempfile.TemporaryDirectory() as run:
        ranker = AttentionRanker(cfg, TrainConfig(epochs=300, batch_size=batch, lr=1e-3,
                                                  patience=15, device=device,
                                                  max_minutes=minutes, checkpoint_minutes=0),
                                 run_dir=run, on_event=on_event)
        ranker.fit(TrainData.from_split(split, ds.catalog))
        test = evaluate(ranker, split, ks=(10,))
    reach = {f"seconds_to_valid_{t}": next((c["seconds"] for c in curve
                                           if c["valid_ndcg"] >= t), None) for t in (0.16, 0.18)}
    per_epoch = np.diff([0.0] + [c["seconds"] for c in curve])
    return {"test_ndcg10": test.metrics["NDCG@10"], "test_hr10": test.metrics["HR@10"],
            "protocol": test.protocol.label(), "best_valid": ranker.result.best_ndcg,
            "epochs": ranker.result.epochs_run, "stopped": ranker.result.stopped,
            "median_seconds_per_epoch": float(np.median(per_epoch)) if len(curve) else None,
            "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else None, "batch_size": batch, **reach, "curve": curve}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="../shared/datasets")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--minutes", type=float, default=4.0, help="ML-1M training time cap")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--out", default="bench/results/gpu_check.json")
    args = ap.parse_args()
    card = torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor()
    print(f"device: {args.device} ({card}), torch {torch.__version__}", flush=True)
    t = time.time()
    result = {"device": args.device, "card": card, "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d"), "correctness": correctness(args.device)}
    print("correctness:", result["correctness"], f"({time.time() - t:.0f}s)", flush=True)
    result["ml1m"] = ml1m(Path(args.datasets), args.device, args.minutes, args.batch_size)
    try:
        import recbole  # noqa: F401
        result["recbole"] = "installed: run bench/recbole_peer.py (not part of this script yet)"
    except ImportError:
        result["recbole"] = "skipped: recbole is not installed on this host"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    m = result["ml1m"]
    print(f"| card | test NDCG@10 | test HR@10 | best valid | s/epoch | to 0.16 | to 0.18 | "
          f"peak GPU MiB |\n|--|--|--|--|--|--|--|--|\n| {card} | {m['test_ndcg10']:.4f} | "
          f"{m['test_hr10']:.4f} | {m['best_valid']:.4f} | {m['median_seconds_per_epoch']} | "
          f"{m['seconds_to_valid_0.16']} | {m['seconds_to_valid_0.18']} | {m['peak_gpu_mib']} |")


if __name__ == "__main__":
    main()
