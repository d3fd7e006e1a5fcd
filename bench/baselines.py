"""Quality of the baseline recommenders on the public benchmarks, under the published protocol.

For MovieLens-1M (5-core), Amazon Beauty and Amazon Scientific: import through the same
validation path a shop's data takes (`prepare_public`), split leave-one-out by time (SASRec,
Kang & McAuley ICDM 2018; BERT4Rec, Sun et al. CIKM 2019), fit each baseline and rank every item
with events for every test user (full ranking, as Krichene & Rendle KDD 2020 recommend). The
metrics are deterministic, so one run suffices; fit and evaluation times are information only.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/baselines.py [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from common import (DEFAULT_DATASETS, PUBLIC_SETS, PublicSet, machine, markdown_table,
                    rel, require_datasets, write_json)
from recdash.data.dataset import Dataset, prepare_public
from recdash.data.splits import Split, make_split
from recdash.eval.evaluate import evaluate
from recdash.runs.registry import baseline
from recdash.models.base import TrainData

MODELS = ("pop", "pop-recent", "itemknn", "ease")
KS = (10, 20, 50)
# Columns of the printed table, in order; ILD-category needs a catalog with categories.
SHOWN = ("NDCG@10", "HR@10", "Recall@10", "NDCG@20", "Coverage@10", "ILD-category@10")


def load(spec: PublicSet, root: Path) -> Dataset:
    """Import one public dataset, or exit with its validation report."""
    ds, report = prepare_public(spec.name, root / spec.folder, kcore=spec.kcore)
    if ds is None:
        sys.exit(f"bench: {spec.folder} did not import:\n{report.format()}")
    return ds


def split_of(ds: Dataset) -> Split:
    """Leave-one-out split ranking every item with events (the published convention)."""
    kcore = int(ds.report.stats.get("kcore", 0))
    return make_split(ds.interactions, ds.catalog, "loo", kcore=kcore, candidates="interacted")


def run_model(name: str, split: Split, ds: Dataset) -> dict:
    """Fit one baseline and evaluate it on the test stage; metrics plus timings."""
    model = baseline(name)
    start = time.perf_counter()
    model.fit(TrainData.from_split(split, ds.catalog))
    fit_s = time.perf_counter() - start
    result = evaluate(model, split, ks=KS, catalog=ds.catalog)
    return {"dataset": ds.name, "model": name, "metrics": result.metrics,
            "segments": result.segments, "fit_seconds": round(fit_s, 3),
            "eval_seconds": round(result.seconds, 3), "protocol": result.protocol.to_dict(),
            "notes": result.notes}


def table(rows: Sequence[dict]) -> str:
    """The markdown table of the shown metrics and timings."""
    def cell(metrics: dict, key: str) -> str:
        return f"{metrics[key]:.4f}" if key in metrics else "n/a"

    body = [[r["dataset"], r["model"], *(cell(r["metrics"], k) for k in SHOWN),
             f"{r['fit_seconds']:.2f}", f"{r['eval_seconds']:.2f}"] for r in rows]
    return markdown_table(["dataset", "model", *SHOWN, "fit s", "eval s"], body)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="folder holding ml-1m/, amazon-beauty/, amazon-scientific/ "
                        "(relative to the repository root)")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in PUBLIC_SETS],
                        help="run these datasets only")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default="baselines.json", help="file name under bench/results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sets = [s for s in PUBLIC_SETS if not args.only or s.name in args.only]
    root = require_datasets(args.datasets, [s.folder for s in sets])
    info = machine()
    rows, datasets = [], {}
    for spec in sets:
        ds = load(spec, root)
        split = split_of(ds)
        datasets[spec.name] = {"folder": rel(root / spec.folder),
                               "source": spec.source, "kcore": spec.kcore,
                               "stats": ds.report.stats, "n_candidates": split.n_items,
                               "test_users": len(split.test.users)}
        for name in args.models:
            print(f"{spec.name}: {name} ...", file=sys.stderr, flush=True)
            rows.append(run_model(name, split, ds))
    print(table(rows))
    print()
    for name in datasets:
        label = next(r["protocol"]["label"] for r in rows if r["dataset"] == name)
        print(f"- {name}: {label}")
    path = write_json(args.out, {"benchmark": "baselines", "machine": info,
                                 "datasets": datasets, "results": rows})
    print(f"\nwrote {rel(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
