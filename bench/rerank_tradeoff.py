"""What diversity costs in accuracy: re-ranking trade-off tables on MovieLens-1M and Amazon
Scientific.

EASE (a strong, quick baseline; any model's candidates work the same way) is fitted on the
leave-one-out split; 1,000 test shoppers (seed 0) keep their top 500 candidates, scored once; each
setting re-ranks those pools to 10 and is scored against the held-out event (so the relevance-order
row equals EASE's full-ranking figures on these shoppers). Settings, by the studio's strength (0 =
the relevance order, more = more re-ranking): MMR and DPP at 0.1, 0.3, 0.5 and 0.7 (lambda and
theta = 1 - strength: 0.9, 0.7, 0.5, 0.3), category caps of 3 and 2, and calibration at 0.5 and
0.9. Item similarity for MMR, DPP and intra-list diversity (`--similarity`): the
catalog categories (one-hot: two items are similar when they share a category), or the cosine of
the items' all-MiniLM-L6-v2 title embeddings (computed once, cached in bench/.cache/). Also the
time to re-rank all 1,000 pools per setting (what the Diversity page waits for).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.baselines import load, split_of  # noqa: E402
from bench.common import (  # noqa: E402
    PUBLIC_SETS,
    machine,
    markdown_table,
    require_datasets,
    write_json,
)
from recdash.models import EASE  # noqa: E402
from recdash.models.base import TrainData  # noqa: E402
from recdash.rerank import pools as P  # noqa: E402
from recdash.rerank.run import train_popularity  # noqa: E402
from recdash.rerank.setting import Setting, item_context  # noqa: E402

SETTINGS = ([Setting("none", 1.0)]
            + [Setting("mmr", s) for s in (0.1, 0.3, 0.5, 0.7)]  # lambda = 1 - s
            + [Setting("dpp", s) for s in (0.1, 0.3, 0.5, 0.7)]  # theta = 1 - s
            + [Setting("cap", 3.0), Setting("cap", 2.0)]
            + [Setting("calibrate", lam) for lam in (0.5, 0.9)])
SHOWN = ("NDCG@10", "HR@10", "ILD", "category coverage", "catalog coverage", "calibration KL")


def text_vectors(ds, items: np.ndarray) -> np.ndarray:
    """Title embeddings aligned with `items` (cached by text hash under bench/.cache/)."""
    from recdash.data import schema as S
    from recdash.text import embed_catalog

    catalog = ds.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM).reindex(items).reset_index()
    cache = Path(__file__).resolve().parent / ".cache" / f"text-{ds.name}"
    return embed_catalog(catalog, cache)[0]


def one_dataset(spec, root: Path, n_users: int, n_candidates: int, similarity: str) -> dict:
    ds = load(spec, root)
    split = split_of(ds)
    model = EASE().fit(TrainData.from_split(split, ds.catalog))
    train = split.train()
    popularity = train_popularity(split)
    text = text_vectors(ds, split.items) if similarity == "text" else None
    ctx = item_context(model, split.items, ds.catalog, popularity, text)
    start = time.perf_counter()
    pools = P.build_pools(model, split, n_users, n_candidates)
    pool_s = time.perf_counter() - start
    rows = []
    for setting in SETTINGS:
        setting = replace(setting, similarity=similarity)
        start = time.perf_counter()
        lists = P.apply(pools, setting, ctx)
        seconds = time.perf_counter() - start
        rows.append({"setting": setting.label(), **setting.to_dict(),
                     "rerank_all_s": seconds,
                     **P.score_lists(pools, lists, ctx, similarity, popularity,
                                     int((train.lengths > 0).sum()))})
    return {"dataset": spec.name, "users": len(pools.users), "candidates": n_candidates,
            "items": split.n_items, "categories": ctx.n_categories - 1,
            "pool_seconds": pool_s, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="../shared/datasets")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--similarity", choices=("category", "text"), default="category")
    args = parser.parse_args()
    specs = [s for s in PUBLIC_SETS if s.name in ("ml-1m", "amazon-scientific")]
    root = require_datasets(args.datasets, [s.folder for s in specs])
    results = [one_dataset(s, root, args.users, args.candidates, args.similarity)
               for s in specs]
    write_json(f"rerank_tradeoff_{args.similarity}.json", {
        "machine": machine(), "model": "ease", "similarity": args.similarity,
        "results": results})
    for res in results:
        print(f"\n{res['dataset']}: EASE, {args.similarity} similarity, {res['users']:,} test "
              f"shoppers, top "
              f"{res['candidates']} of {res['items']:,} items, {res['categories']} categories; "
              f"pools scored in {res['pool_seconds']:.1f} s\n")
        print(markdown_table(["setting", *SHOWN, "re-rank 1,000 users (s)"], [
            [r["setting"], *(f"{r[m]:.4f}" for m in SHOWN), f"{r['rerank_all_s']:.2f}"]
            for r in res["rows"]]))


if __name__ == "__main__":
    main()
