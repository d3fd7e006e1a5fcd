"""The studio's long work on the demo shop, timed through the engine the pages call.

1. Quick demo model: from `jobs.submit` (what the Train page's button does) to the finished
   run, with the demo shop's title embeddings cached (the first start computes them). Goal 75 s.
2. Export of every shopper's top-10 (25,000 rows): `runs_view.export_recommendations` from a
   cold start (model loaded, every shopper scored, CSV written), for the quick attention run
   and for EASE. Peer: pandas writing the same table to CSV. Goal 5 s.
3. One explanation: the quick first look (attention + leave-one-out reason line) and the full
   SHAP explanation of a shopper's top item, over 20 shoppers. Goals 3 s each.
4. "Explain the sample" of 100 shoppers (`global_drivers`, 5 permutations each). Peer: the full
   explanation (20 permutations) of 10 shoppers, scaled to 100. Goal 30 s.

Everything runs on one CPU thread on a fresh workspace; medians of repeated runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, markdown_table, write_json  # noqa: E402


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def quick_model(ws, repeats: int) -> dict:
    from recdash.runs import jobs
    from recdash.runs.demo import quick_spec
    from recdash.runs.train import load_split, text_embeddings

    ds, split = load_split(ws, quick_spec())
    text_embeddings(ws, ds, split)  # the first start's job caches them; not timed
    secs, run_ids = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        job_id = jobs.submit(ws, quick_spec())
        while jobs.get(ws, job_id).status in ("queued", "running"):
            time.sleep(0.2)
        secs.append(time.perf_counter() - start)
        job = jobs.get(ws, job_id)
        assert job.status == "finished", job.message
        run_ids.append(job.run_id)
    return {"median_s": statistics.median(secs), "runs_s": secs, "run_id": run_ids[-1],
            "ndcg10": ws.metrics(run_ids[-1])["all"]["NDCG@10"], "goal_s": 75}


def export(ws, run_id: str, repeats: int) -> dict:
    import io

    import pandas as pd

    from recdash import runs_view

    secs = []
    for _ in range(repeats):
        (ws.run_dir(run_id) / runs_view.export_name(10)).unlink(missing_ok=True)
        secs.append(_timed(lambda: runs_view.export_recommendations(ws, run_id, "csv", 10)))
    table = runs_view.recommendations_for_all(ws, run_id, 10)
    peer = [_timed(lambda: table.to_csv(io.StringIO(), index=False)) for _ in range(repeats)]
    return {"median_s": statistics.median(secs), "runs_s": secs, "rows": len(table),
            "peer_pandas_csv_median_s": statistics.median(peer), "goal_s": 5}


def explanations(ws, run_id: str, n: int) -> dict:
    from recdash import shopper
    from recdash.explain.summary import explain_recommendation, global_drivers, \
        quick_explanation
    from recdash.runs.load import load_run

    service = load_run(ws, run_id)
    users = [u for u in service.split.users if len(service.history_of(u)) >= 5][:n]
    quick, full = [], []
    for user in users:
        history = shopper.history_of(service.dataset.interactions, user)
        top = service.recommend_frame(history, 1)["item_id"].iloc[0]
        quick.append(_timed(lambda: quick_explanation(service, history, top)))
        full.append(_timed(lambda: explain_recommendation(service, history, top)))
    sample = list(service.split.users[:100])
    drivers = [_timed(lambda: global_drivers(service, sample)) for _ in range(3)]
    peer = []
    for user in sample[:10]:
        history = shopper.history_of(service.dataset.interactions, user)
        top = service.recommend_frame(history, 1)["item_id"].iloc[0]
        peer.append(_timed(lambda: explain_recommendation(service, history, top)))
    return {"quick_median_s": statistics.median(quick), "quick_max_s": max(quick),
            "full_median_s": statistics.median(full), "full_max_s": max(full),
            "shoppers": len(users), "sample_100_median_s": statistics.median(drivers),
            "sample_100_runs_s": drivers,
            "peer_full_x100_s": 10 * sum(peer), "goals_s": {"quick": 3, "full": 3,
                                                            "sample_100": 30}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from recdash.runs.spec import RunSpec
    from recdash.runs.train import run_evaluation
    from recdash.workspace import Workspace

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        ws.ensure_demo()
        quick = quick_model(ws, args.repeats)
        ease_run, _ = run_evaluation(ws, RunSpec("demo", "ease"))
        exports = {"attention (quick)": export(ws, quick["run_id"], 2 * args.repeats + 1),
                   "ease": export(ws, ease_run, 2 * args.repeats + 1)}
        why = explanations(ws, quick["run_id"], 20)
    payload = {"machine": machine(), "load_average_1m_before": load, "threads": 1,
               "quick_model": quick, "export": exports, "explanations": why}
    write_json("studio_work.json", payload)
    rows = [["quick demo model, click to finished run", f"{quick['median_s']:.1f} s", "75 s",
             f"NDCG@10 {quick['ndcg10']:.4f}"]]
    for name, e in exports.items():
        rows.append([f"export {e['rows']:,} rows ({name})", f"{e['median_s']:.2f} s", "5 s",
                     f"pandas CSV alone {e['peer_pandas_csv_median_s']:.2f} s"])
    rows += [["first look (attention + reason line)", f"{why['quick_median_s']:.3f} s", "3 s",
              f"max {why['quick_max_s']:.3f} s"],
             ["full explanation (SHAP, counterfactual)", f"{why['full_median_s']:.2f} s", "3 s",
              f"max {why['full_max_s']:.2f} s"],
             ["explain a sample of 100 shoppers", f"{why['sample_100_median_s']:.1f} s", "30 s",
              f"100 full explanations {why['peer_full_x100_s']:.0f} s"]]
    print(markdown_table(["work", "median", "goal", "beside it"], rows))
    print(f"\n1-min load average before: {load:.2f}")


if __name__ == "__main__":
    main()
