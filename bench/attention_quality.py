"""Quality of the attention ranker on public benchmarks, on the CPU, under the published protocol.

Leave-one-out by time with full ranking (SASRec, Kang & McAuley, ICDM 2018; Krichene & Rendle,
KDD 2020), trained with full softmax cross-entropy and early stopping on validation NDCG@10 (the
SASRec+ recipe of Klenitskiy & Vasilev, RecSys 2023). Four benchmarks:

- scientific: Amazon Scientific (the UniSRec downstream set), item-tower ablations: ID only,
  text only, ID + text, ID + text + category + brand.
- cold: Amazon Scientific with 10% of the items (seed 0) stripped of all their events before
  splitting; users whose original last event is such a cold item are ranked against the whole
  catalog with their other events as history. Recall@50 on cold targets vs warm targets.
- beauty: Amazon Beauty (P5 split), ID only.
- ml-1m: MovieLens-1M 5-core, ID only, max_len 200.

Each training run is capped by --max-minutes (a cap, not a target: the run also stops early).
Every figure, the per-epoch history, the settings, the machine and the command go to
bench/results/attention_<name>.json.

Usage (from the repository root; one thread so that figures are reproducible on a shared host):
    OMP_NUM_THREADS=1 .venv/bin/python bench/attention_quality.py --only scientific
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from common import (DEFAULT_DATASETS, REPO, machine, markdown_table, peak_rss_mb, rel,
                    require_datasets, write_json)
from recdash.data import schema as S
from recdash.data.dataset import Dataset, prepare_public
from recdash.data.sequences import Sequences
from recdash.data.splits import Split, Stage, make_split
from recdash.eval.evaluate import evaluate
from recdash.models import Popularity, Recommender
from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig
from recdash.models.base import TrainData
from recdash.text import embed_catalog

KS = (10, 20, 50)
SHOWN = ("NDCG@10", "Recall@10", "NDCG@50", "Recall@50")
CACHE = REPO / "bench" / ".cache"  # text embeddings; kept out of git by its own .gitignore
COLD_SHARE = 0.1  # share of items made cold in the cold-item benchmark
DEFAULT_MINUTES = {"scientific": 5.0, "cold": 5.0, "beauty": 8.0, "ml-1m": 25.0}
# benchmark -> (dataset folder, k-core on import, history length)
DATASETS = {"scientific": ("amazon-scientific", 0, 50), "cold": ("amazon-scientific", 0, 50),
            "beauty": ("amazon-beauty", 0, 50), "ml-1m": ("ml-1m", 5, 200)}


@dataclass(frozen=True)
class Tower:
    """Which inputs describe an item in the ranker's item tower."""

    name: str
    use_id: bool
    use_text: bool
    use_category: bool = False
    use_brand: bool = False


ID_ONLY = Tower("ID only", True, False)
TEXT_ONLY = Tower("text only", False, True)
ID_TEXT = Tower("ID + text", True, True)
ID_TEXT_CAT = Tower("ID + text + category + brand", True, True, True, True)


def load(folder: str, kcore: int, root: Path) -> Dataset:
    """Import one public dataset through the validation path, or exit with its report."""
    ds, report = prepare_public(folder, root / folder, kcore=kcore)
    if ds is None:
        sys.exit(f"bench: {folder} did not import:\n{report.format()}")
    return ds


def text_for(ds: Dataset, split: Split) -> np.ndarray:
    """(I, 384) text embeddings aligned with split.items, cached under bench/.cache/."""
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    catalog = ds.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM).reindex(
        pd.Index(split.items, name=S.ITEM)).reset_index()
    emb, stats = embed_catalog(catalog, CACHE / ds.name)
    print(f"  text embeddings: {stats}", file=sys.stderr, flush=True)
    return emb


def fit_ranker(split: Split, ds: Dataset, tower: Tower, text: np.ndarray | None, max_len: int,
               minutes: float, epochs: int) -> tuple[AttentionRanker, dict]:
    """Train one attention ranker; returns it with its settings and training record."""
    model_cfg = AttentionConfig(n_items=0, max_len=max_len, dim=64, n_layers=2, n_heads=1,
                                dropout=0.2, use_id=tower.use_id, use_text=tower.use_text,
                                use_category=tower.use_category, use_brand=tower.use_brand,
                                use_price=False)
    train_cfg = TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, patience=10, valid_users=0,
                            device="cpu", max_minutes=minutes, seed=0, checkpoint_minutes=0)

    def log(ev) -> None:
        if ev.kind == "epoch":
            print(f"  [{tower.name}] epoch {ev.epoch} loss {ev.loss:.4f} valid NDCG@10 "
                  f"{ev.valid_ndcg:.4f} ({ev.elapsed_s:.0f} s)", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="recdash-bench-") as run_dir:
        ranker = AttentionRanker(model_cfg, train_cfg, run_dir=run_dir,
                                 text=text if tower.use_text else None, on_event=log)
        ranker.fit(TrainData.from_split(split, ds.catalog))
    res = ranker.result
    record = {"tower": tower.name, "model_settings": asdict(ranker.model_config),
              "train_settings": asdict(train_cfg), "epochs_run": res.epochs_run,
              "best_epoch": res.best_epoch, "best_valid_ndcg10": res.best_ndcg,
              "stopped": res.stopped, "train_seconds": round(res.seconds, 1),
              "seconds_per_epoch": round(res.seconds / max(1, res.epochs_run), 2),
              "history": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in h.items()}
                          for h in res.history]}
    return ranker, record


def scored(model: Recommender, split: Split, ds: Dataset) -> dict:
    """Test-stage metrics of a fitted model, with the protocol label."""
    res = evaluate(model, split, ks=KS, catalog=ds.catalog)
    return {"metrics": res.metrics, "segments": res.segments,
            "protocol": res.protocol.label(), "notes": res.notes}


def attention_rows(split: Split, ds: Dataset, towers: Sequence[Tower], max_len: int,
                   minutes: float, epochs: int) -> list[dict]:
    """Fit and evaluate one ranker per item tower."""
    text = text_for(ds, split) if any(t.use_text for t in towers) else None
    rows = []
    for tower in towers:
        print(f"{ds.name}: {tower.name} ...", file=sys.stderr, flush=True)
        ranker, record = fit_ranker(split, ds, tower, text, max_len, minutes, epochs)
        rows.append({**record, **scored(ranker, split, ds)})
    return rows


def ranking_table(rows: Sequence[dict]) -> str:
    """Metrics and training facts, one row per model."""
    body = [[r["tower"], *(f"{r['metrics'][k]:.4f}" for k in SHOWN), r.get("epochs_run", "-"),
             r.get("best_epoch", "-"), r.get("stopped", "-"),
             f"{r['train_seconds']:.0f}" if "train_seconds" in r else "-"] for r in rows]
    return markdown_table(["model", *SHOWN, "epochs", "best epoch", "stopped by", "train s"], body)


# ---------------------------------------------------------------------------------------------
# Cold items


def substage(stage: Stage, rows: np.ndarray) -> Stage:
    """The stage restricted to `rows` (one target per user, as leave-one-out has)."""
    t = stage.targets
    return Stage(stage.users[rows], stage.cut[rows],
                 Sequences(np.arange(len(rows) + 1, dtype=np.int64), t.items[rows],
                           t.events[rows], t.times[rows]))


def cold_splits(ds: Dataset, share: float, seed: int) -> tuple[Split, Split, np.ndarray]:
    """(training split without cold items, evaluation split, (I,) bool cold mask).

    The evaluation split keeps, per user, the warm events plus the original last event even when
    it is cold, so its test stage ranks that last event with the user's warm events as history.
    Both rank the whole catalog (cold items included) with the same item indices.
    """
    items = np.sort(ds.catalog[S.ITEM].unique())
    cold = np.random.default_rng(seed).choice(items, size=round(share * len(items)),
                                              replace=False)
    ev = ds.interactions
    is_cold = ev[S.ITEM].isin(cold).to_numpy()
    last = ~ev[S.USER].duplicated(keep="last").to_numpy()  # events are sorted by user, time
    train = make_split(ev[~is_cold], ds.catalog, "loo", candidates="catalog")
    held = make_split(ev[~is_cold | last], ds.catalog, "loo", candidates="catalog")
    if not np.array_equal(train.items, held.items):
        raise AssertionError("the two cold-item splits index items differently")
    return train, held, pd.Index(train.items).isin(cold)


def cold_in_top(model: Recommender, split: Split, stage: Stage, cold: np.ndarray,
                k: int = 50) -> float:
    """Mean number of cold items in the top k (seen items excluded), over the stage's users."""
    from recdash.eval.evaluate import mask_seen_

    total = 0
    for lo in range(0, len(stage.users), 1024):
        hist, events, times = split.sequences.select_context(stage.users[lo:lo + 1024],
                                                             stage.cut[lo:lo + 1024])
        scores = torch.from_numpy(model.score(hist, events, times))
        mask_seen_(scores, hist)
        total += int(cold[torch.topk(scores, k, dim=1).indices.numpy()].sum())
    return total / max(1, len(stage.users))


def run_cold(ds: Dataset, max_len: int, minutes: float, epochs: int) -> tuple[dict, str]:
    train, held, cold = cold_splits(ds, COLD_SHARE, seed=0)
    st = held.test
    target_cold = cold[st.targets.items]
    stages = {"cold targets": substage(st, np.flatnonzero(target_cold)),
              "warm targets": substage(st, np.flatnonzero(~target_cold))}
    text = text_for(ds, train)
    models: list[tuple[str, Recommender, dict]] = []
    for tower in (ID_TEXT_CAT, ID_ONLY):
        print(f"{ds.name} (cold): {tower.name} ...", file=sys.stderr, flush=True)
        ranker, record = fit_ranker(train, ds, tower, text, max_len, minutes, epochs)
        models.append((tower.name, ranker, record))
    models.append(("popularity", Popularity().fit(TrainData.from_split(train, ds.catalog)),
                   {"tower": "popularity"}))
    rows = []
    for name, model, record in models:
        row = {**record, "model": name}
        for seg, stage in stages.items():
            res = evaluate(model, replace(held, test=stage), ks=KS, catalog=ds.catalog)
            row[seg] = {"users": len(stage.users), "metrics": res.metrics,
                        "protocol": res.protocol.label(),
                        "cold_items_in_top50": round(cold_in_top(model, held, stage, cold), 3)}
        rows.append(row)
    # A random ranking's Recall@50 on the cold targets: 50 / (candidates left after masking).
    hist_len = np.array([len(np.unique(h)) for h in held.sequences.select_context(
        stages["cold targets"].users, stages["cold targets"].cut)[0]])
    random_r50 = float(np.mean(50 / (held.n_items - hist_len)))
    text_row = rows[0]
    cold_r50 = text_row["cold targets"]["metrics"]["Recall@50"]
    warm_r50 = text_row["warm targets"]["metrics"]["Recall@50"]
    body = [[r["model"], f"{r['cold targets']['metrics']['Recall@50']:.4f}",
             f"{r['cold targets']['metrics']['Recall@10']:.4f}",
             f"{r['warm targets']['metrics']['Recall@50']:.4f}",
             f"{r['cold targets']['cold_items_in_top50']:.1f}",
             r.get("epochs_run", "-"), r.get("best_epoch", "-"), r.get("stopped", "-")]
            for r in rows]
    body.append(["random ranking (expected)", f"{random_r50:.4f}", "", "", "", "", "", ""])
    table = markdown_table(["model", "cold Recall@50", "cold Recall@10", "warm Recall@50",
                            "cold items in top 50", "epochs", "best epoch", "stopped by"], body)
    goal = {"cold_recall50": cold_r50, "warm_recall50": warm_r50,
            "ratio": cold_r50 / warm_r50 if warm_r50 else float("nan"),
            "met": bool(cold_r50 >= 0.5 * warm_r50)}
    table += (f"\n\nGoal (text model): cold Recall@50 >= half of warm Recall@50: "
              f"{cold_r50:.4f} vs {warm_r50:.4f} (ratio {goal['ratio']:.2f}) -> "
              f"{'met' if goal['met'] else 'not met'}")
    payload = {"cold_items": int(cold.sum()), "items": len(cold),
               "users": {k: len(v.users) for k, v in stages.items()},
               "training_events": len(train.train().items),
               "random_cold_recall50": random_r50, "goal": goal, "results": rows}
    return payload, table


# ---------------------------------------------------------------------------------------------


def run(name: str, ds: Dataset, minutes: float, epochs: int) -> tuple[dict, str]:
    """One benchmark: (JSON payload, markdown table)."""
    max_len = DATASETS[name][2]
    if name == "cold":
        return run_cold(ds, max_len, minutes, epochs)
    kcore = int(ds.report.stats.get("kcore", 0))
    split = make_split(ds.interactions, ds.catalog, "loo", kcore=kcore, candidates="interacted")
    towers = (ID_ONLY, TEXT_ONLY, ID_TEXT, ID_TEXT_CAT) if name == "scientific" else (ID_ONLY,)
    rows = attention_rows(split, ds, towers, max_len, minutes, epochs)
    payload = {"n_candidates": split.n_items, "test_users": len(split.test.users),
               "results": rows}
    return payload, ranking_table(rows) + f"\n\nProtocol: {rows[0]['protocol']}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", required=True, choices=list(DATASETS))
    parser.add_argument("--max-minutes", type=float,
                        help="training cap per model in minutes, 0 for none (default: "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_MINUTES.items()) + ")")
    parser.add_argument("--epochs", type=int, default=200,
                        help="most epochs per model (1 to estimate an epoch's cost)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="folder holding the public datasets (relative to the repository root)")
    parser.add_argument("--out", help="file name under bench/results "
                        "(default attention_<name>.json)")
    return parser.parse_args(argv)


def code_version() -> dict:
    """The commit the figures came from, and whether recdash/ had uncommitted changes."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                             check=False)
        return out.stdout.strip() if out.returncode == 0 else "unknown"

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "recdash_modified": bool(git("status", "--porcelain", "recdash"))}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    folder, kcore, max_len = DATASETS[args.only]
    root = require_datasets(args.datasets, [folder])
    minutes = args.max_minutes if args.max_minutes is not None else DEFAULT_MINUTES[args.only]
    info, code = machine(), code_version()
    ds = load(folder, kcore, root)
    payload, table = run(args.only, ds, minutes, args.epochs)
    print(table)
    payload = {"benchmark": f"attention-{args.only}", "machine": info, "code": code,
               "dataset": {"folder": rel(root / folder), "kcore": kcore,
                           "stats": ds.report.stats},
               "settings": {"max_len": max_len, "max_minutes_per_model": minutes,
                            "epochs": args.epochs, "ks": list(KS)},
               **payload, "peak_rss_mib": round(peak_rss_mb(), 1)}
    path = write_json(args.out or f"attention_{args.only}.json", payload)
    print(f"\nwrote {rel(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
