"""Wall time and peak memory of importing MovieLens-1M and of evaluating every user on it.

Goals under test: import + validation of ML-1M (1M events) under 10 s, and full-ranking
evaluation of all 6,040 users under 5 s, on a 2-core machine. Each repetition runs in a fresh
Python process, so every peak RSS belongs to one run; the figures are the median (and min/max)
of the repetitions. Each measurement has a peer measured in the same run, so the table shows
what our work adds: a bare `pandas.read_csv` of the same files for the import, and the model's
scores alone (`model.score` over the same batches) for the evaluation.

A third measurement imports a shop's order export as shops write it: 1M lines of
InvoiceNo/StockCode/Description/Quantity/InvoiceDate/UnitPrice/CustomerID in a gzipped,
semicolon-separated CSV, with US month-first dates, decimal-comma prices and 2% returns (the
file is generated in the child before the clock starts). `--baseline FILE` compares the
import's median with an earlier run of this script (a JSON under bench/results/).

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/import_eval_speed.py [--repeats 5] \
        [--baseline import_eval_speed_before.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from common import (DEFAULT_DATASETS, REPO, current_rss_mb, machine, markdown_table, peak_rss_mb,
                    rel, require_datasets, reset_peak_rss, summarise, write_json)

DATASET = "ml-1m"
KCORE = 5
MODELS = ("pop", "itemknn", "ease")
GOALS = {"import": 10.0, "evaluate": 5.0}  # seconds


# Child processes: one measurement each, one JSON line on stdout --------------------------------
def child_read(folder: Path) -> dict:
    """The peer of the import: pandas reads the two files and nothing more."""
    import pandas as pd

    rss0 = current_rss_mb()
    start = time.perf_counter()
    events = pd.read_csv(folder / "interactions.tsv.gz", sep="\t")
    movies = pd.read_csv(folder / "movies.dat", sep="::", engine="python", encoding="latin-1",
                         header=None)
    wall = time.perf_counter() - start
    return {"wall": wall, "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": rss0,
            "rows": len(events) + len(movies)}


def child_import(folder: Path) -> dict:
    """prepare_public (read, validate, 5-core) and save_dataset into a fresh workspace."""
    from recdash.data.dataset import prepare_public
    from recdash.workspace import Workspace

    rss0 = current_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ds, report = prepare_public(DATASET, folder, kcore=KCORE)
        if ds is None:
            raise SystemExit(f"import failed:\n{report.format()}")
        prepared = time.perf_counter()
        Workspace(tmp).save_dataset(ds, source=folder.name)
        end = time.perf_counter()
    return {"wall": end - start, "prepare": prepared - start, "save": end - prepared,
            "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": rss0,
            "events": len(ds.interactions), "users": int(ds.report.stats["users"]),
            "items": int(ds.report.stats["items_with_events"])}


EXPORT_ROWS = 1_000_000


def write_order_export(path: Path, rows: int = EXPORT_ROWS, seed: int = 0) -> None:
    """A retail order export: 20k shoppers, 4k products, US dates, decimal commas, returns."""
    import gzip

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    items = rng.zipf(1.3, rows) % 4000
    stamps = pd.Timestamp("2010-12-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 365 * 24 * 60, rows)), unit="min")
    qty = rng.integers(1, 13, rows)
    qty[rng.random(rows) < 0.02] *= -1  # returns
    frame = pd.DataFrame({
        "InvoiceNo": (536365 + np.arange(rows) // 4).astype(str),
        "StockCode": [f"{80000 + i}" for i in items],
        "Description": [f"PRODUCT {i} WITH A LONG NAME" for i in items],
        "Quantity": qty,
        "InvoiceDate": [f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in stamps],
        "UnitPrice": [f"{p:.2f}".replace(".", ",") for p in (items % 50 + 0.99)],
        "CustomerID": (12346 + rng.integers(0, 20000, rows)).astype(str)})
    with gzip.open(path, "wt", compresslevel=6) as out:
        frame.to_csv(out, sep=";", index=False)


def child_export() -> dict:
    """prepare_dataset of the order export (guessed columns, detected dates and numbers) and
    save_dataset into a fresh workspace."""
    from recdash.data.dataset import prepare_dataset
    from recdash.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv.gz"
        write_order_export(path)
        rss0 = current_rss_mb()
        reset_peak_rss()
        start = time.perf_counter()
        ds, report = prepare_dataset("orders", path)
        if ds is None:
            raise SystemExit(f"import failed:\n{report.format()}")
        prepared = time.perf_counter()
        Workspace(Path(tmp) / "ws").save_dataset(ds, source=path.name)
        end = time.perf_counter()
        size = path.stat().st_size
    return {"wall": end - start, "prepare": prepared - start, "save": end - prepared,
            "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": rss0,
            "events": len(ds.interactions), "gzip_bytes": size,
            "codes": sorted({f.code for f in report.findings})}


def _score_only(model, split) -> float:
    """Seconds spent in model.score over evaluate's batches (histories built beforehand)."""
    from recdash.eval.evaluate import SCORE_BUDGET_BYTES

    st = split.test
    batch = max(1, min(4096, SCORE_BUDGET_BYTES // (4 * split.n_items)))  # as evaluate does
    batches = [split.sequences.select(st.users[lo:lo + batch], st.cut[lo:lo + batch])
               for lo in range(0, len(st.users), batch)]
    start = time.perf_counter()
    for hist in batches:
        model.score(hist)
    return time.perf_counter() - start


def child_evaluate(workspace: Path, name: str) -> dict:
    """Fit one model (not timed), then time evaluate() and, as its peer, the scores alone."""
    from recdash.data.splits import make_split
    from recdash.eval.evaluate import evaluate
    from recdash.runs.registry import baseline
    from recdash.models.base import TrainData
    from recdash.workspace import Workspace

    ds = Workspace(workspace).load_dataset(DATASET)
    split = make_split(ds.interactions, ds.catalog, "loo", kcore=KCORE, candidates="interacted")
    model = baseline(name)
    start = time.perf_counter()
    model.fit(TrainData.from_split(split, ds.catalog))
    fit = time.perf_counter() - start
    rss0 = current_rss_mb()
    reset_ok = reset_peak_rss()
    result = evaluate(model, split, ks=(10, 20, 50), catalog=ds.catalog)
    eval_peak = peak_rss_mb()
    reset_peak_rss()
    score = _score_only(model, split)
    return {"wall": result.seconds, "score_only": score, "fit": fit,
            "rss_before_eval_mb": rss0, "peak_rss_mb": eval_peak, "peak_is_eval_only": reset_ok,
            "score_peak_rss_mb": peak_rss_mb(), "users": result.protocol.n_users,
            "protocol": result.protocol.label(), "ndcg10": result.metrics["NDCG@10"]}


def run_child(args: argparse.Namespace) -> int:
    """Entry point of a child process: print one measurement as JSON."""
    folder = require_datasets(args.datasets, [DATASET]) / DATASET
    if args.child == "read":
        out = child_read(folder)
    elif args.child == "import":
        out = child_import(folder)
    elif args.child == "export":
        out = child_export()
    else:
        out = child_evaluate(Path(args.workspace), args.model)
    print(json.dumps(out))
    return 0


# The parent: repeat children, summarise, print, store -------------------------------------------
def spawn(args: argparse.Namespace, kind: str, *extra: str) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
           "--datasets", args.datasets, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"bench: the {kind} measurement failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_import(args: argparse.Namespace, workspace: Path) -> float:
    """Wall time of `recdash import` into a fresh workspace, interpreter start included."""
    exe = Path(sys.executable).parent / "recdash"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "recdash"]
    folder = require_datasets(args.datasets, [DATASET]) / DATASET
    cmd = [*base, "--workspace", str(workspace), "import", "--public", str(folder),
           "--name", DATASET, "--kcore", str(KCORE), "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: `recdash import` failed:\n{proc.stdout}\n{proc.stderr}")
    return wall


def collect(runs: list[dict], keys: Sequence[str]) -> dict:
    """Summaries of the given fields over repeated runs."""
    return {k: summarise([r[k] for r in runs]) for k in keys}


def measure(args: argparse.Namespace) -> dict:
    """All repetitions: read and import interleaved, then each model's evaluation."""
    reads, imports, exports = [], [], []
    for i in range(args.repeats):
        print(f"import {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
        reads.append(spawn(args, "read"))
        imports.append(spawn(args, "import"))
    for i in range(args.repeats):
        print(f"order export {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
        exports.append(spawn(args, "export"))
    with tempfile.TemporaryDirectory() as tmp:
        cli = cli_import(args, Path(tmp))
        evals = {}
        for name in args.models:
            runs = []
            for i in range(args.repeats):
                print(f"evaluate {name} {i + 1}/{args.repeats}", file=sys.stderr, flush=True)
                runs.append(spawn(args, "eval", "--workspace", tmp, "--model", name))
            evals[name] = {"runs": runs, **collect(runs, ("wall", "score_only", "fit",
                                                          "rss_before_eval_mb", "peak_rss_mb"))}
    first = imports[0]
    return {
        "data": {"dataset": DATASET, "kcore": KCORE, "events": first["events"],
                 "users": first["users"], "items": first["items"],
                 "protocol": evals[args.models[0]]["runs"][0]["protocol"] if evals else ""},
        "import": collect(imports, ("wall", "prepare", "save", "peak_rss_mb",
                                    "rss_after_imports_mb")),
        "bare_read": collect(reads, ("wall", "peak_rss_mb", "rss_after_imports_mb")),
        "order_export": {**collect(exports, ("wall", "prepare", "save", "peak_rss_mb")),
                         "events": exports[0]["events"], "gzip_bytes": exports[0]["gzip_bytes"],
                         "codes": exports[0]["codes"], "rows": EXPORT_ROWS},
        "cli_import_seconds": cli,
        "evaluate": evals,
    }


def _span(summary: dict, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(summary['median'])} ({fmt.format(summary['min'])}–" \
           f"{fmt.format(summary['max'])})"


def import_table(res: dict) -> str:
    """Import versus bare read: wall and peak RSS, with the ratio of medians."""
    imp, read = res["import"], res["bare_read"]
    ratio_t = imp["wall"]["median"] / read["wall"]["median"]
    ratio_m = imp["peak_rss_mb"]["median"] / read["peak_rss_mb"]["median"]
    mb = "{:.0f}"
    met = "met" if imp["wall"]["median"] < GOALS["import"] else "NOT met"
    rows = [
        ["import: prepare_public (read, validate, 5-core) + save_dataset", _span(imp["wall"]),
         _span(imp["peak_rss_mb"], mb)],
        ["  of which prepare_public", _span(imp["prepare"]), ""],
        ["  of which save_dataset (Parquet + SQLite)", _span(imp["save"]), ""],
        ["peer: bare pandas.read_csv of interactions.tsv.gz + movies.dat",
         _span(read["wall"]), _span(read["peak_rss_mb"], mb)],
        ["ratio import / bare read (medians)", f"{ratio_t:.1f}x", f"{ratio_m:.1f}x"],
        ["`recdash import` CLI, one run, interpreter start included",
         f"{res['cli_import_seconds']:.2f}", ""],
        [f"goal: import under {GOALS['import']:.0f} s", met, ""],
    ]
    return markdown_table(["measurement", "wall s, median (min–max)",
                           "peak RSS MiB, median (min–max)"], rows)


def export_table(res: dict, baseline: dict | None) -> str:
    """The order export's import, and the ML-1M import against an earlier run."""
    ex = res["order_export"]
    rows = [[f"order export: prepare_dataset ({ex['rows']:,} lines, {ex['gzip_bytes'] / 1e6:.1f}"
             " MB gzip) + save_dataset", _span(ex["wall"]), _span(ex["peak_rss_mb"], "{:.0f}")],
            ["  of which prepare_dataset", _span(ex["prepare"]), ""],
            ["  of which save_dataset", _span(ex["save"]), ""]]
    if baseline is not None:
        now, before = res["import"]["wall"]["median"], baseline["import"]["wall"]["median"]
        rows.append(["ML-1M import now / the baseline run's (medians)",
                     f"{now:.2f} / {before:.2f} = {now / before:.2f}x", ""])
    return markdown_table(["measurement", "wall s, median (min–max)",
                           "peak RSS MiB, median (min–max)"], rows)


def eval_table(res: dict) -> str:
    """Evaluation versus scoring alone, per model."""
    rows = []
    for name, ev in res["evaluate"].items():
        ratio = ev["wall"]["median"] / max(ev["score_only"]["median"], 1e-9)
        met = "met" if ev["wall"]["median"] < GOALS["evaluate"] else "NOT met"
        rows.append([name, _span(ev["wall"]), _span(ev["score_only"]), f"{ratio:.1f}x",
                     f"{ev['rss_before_eval_mb']['median']:.0f}",
                     _span(ev["peak_rss_mb"], "{:.0f}"), f"{ev['fit']['median']:.2f}", met])
    header = ["model", "evaluate s, median (min–max)", "peer: score only s", "evaluate / score",
              "RSS before evaluate MiB", "peak RSS during evaluate MiB", "fit s (info)",
              f"goal < {GOALS['evaluate']:.0f} s"]
    return markdown_table(header, rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="folder holding ml-1m/ (relative to the repository root)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per measurement")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default="import_eval_speed.json",
                        help="file name under bench/results")
    parser.add_argument("--baseline", help="an earlier result file under bench/results to "
                        "compare the ML-1M import with")
    parser.add_argument("--child", choices=("read", "import", "export", "eval"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    require_datasets(args.datasets, [DATASET])
    info = machine()
    res = measure(args)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    d = res["data"]
    print(f"ML-1M, {d['kcore']}-core: {d['events']:,} events, {d['users']:,} users, "
          f"{d['items']:,} items; {args.repeats} fresh processes per measurement\n")
    print(import_table(res) + "\n")
    baseline = None
    if args.baseline:
        baseline = json.loads((REPO / "bench" / "results" / args.baseline).read_text())
        res["baseline"] = {"file": args.baseline, "import_wall_median": baseline["import"][
            "wall"]["median"], "ratio": res["import"]["wall"]["median"] /
            baseline["import"]["wall"]["median"]}
    print(export_table(res, baseline) + "\n")
    print(f"Evaluation: {d['protocol']}\n")
    print(eval_table(res))
    path = write_json(args.out, {"benchmark": "import_eval_speed", "machine": info,
                                 "repeats": args.repeats, "goals_seconds": GOALS, **res})
    print(f"\nwrote {rel(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
