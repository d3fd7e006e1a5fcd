"""The attention ranker at its default settings against the best baseline, on every dataset.

What an analyst gets who changes nothing: each dataset is imported and measured through the
product's own command line (`python -m recdash --workspace WS ... --json`, one subprocess per
step), so the split, the seen-item rule, the candidates, the text tower and tuning are the
ones the CLI chooses from the data. For the demo shop, MovieLens-1M (5-core on import),
Amazon Beauty, Amazon Scientific and Amazon Games: `evaluate` best sellers (pop), item k-NN and
EASE, then `train` the attention ranker with the Train page's 10-minute cap on a CPU, and compare
its test NDCG@10 with the best baseline's (full ranking, as Krichene & Rendle KDD 2020
recommend). A folder the product cannot import is recorded as a finding with its error.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/defaults_vs_baselines.py [--only demo] \
        [--max-minutes 10] [--datasets ../shared/datasets] [--workspace DIR]
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

from attention_quality import code_version
from common import (DEFAULT_DATASETS, PUBLIC_SETS, REPO, PublicSet, machine, markdown_table,
                    rel, reproduce_command, require_datasets, write_json)

DEMO = "demo"
GAMES = PublicSet("amazon-games", "amazon-games", 0,
                  "Amazon Video Games 2018, 5-core (LLMRank/UniSRec files, titles)")
SETS = (*PUBLIC_SETS, GAMES)
NAMES = (DEMO, *(s.name for s in SETS))
BASELINES = ("pop", "itemknn", "ease")
RANKER = "attention"
OUT = "defaults_vs_baselines.json"


def cli(workspace: Path, *args: str) -> dict:
    """Run `python -m recdash --workspace WS ARGS --json`; its JSON, stderr, status and seconds.

    The subprocess runs this checkout's code (PYTHONPATH starts at the repository root), with
    this process's environment otherwise (OMP_NUM_THREADS included).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, "-m", "recdash", "--workspace", str(workspace), *args, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        payload = {"unparsed_stdout": done.stdout[-2000:]}
    shown = [rel(a) if a.startswith("/") else a for a in args]  # no machine's paths in results
    return {"args": ["recdash", *shown, "--json"], "rc": done.returncode, "payload": payload,
            "stderr": done.stderr, "seconds": round(seconds, 1)}


def _error(call: dict) -> str:
    """What went wrong in a failed call, in the product's words (its error line or last lines)."""
    said = [ln for ln in call["stderr"].splitlines() if ln.startswith("recdash: error:")]
    if said:
        return said[-1]
    report = call["payload"].get("report")
    if report:
        return json.dumps([f for f in report.get("findings", [])
                           if f.get("severity") == "error"] or report)[:2000]
    return "\n".join(call["stderr"].strip().splitlines()[-5:])[:2000]


def _protocol_line(stderr: str) -> str | None:
    """The line where the CLI says which split and seen-item rule it chose, and why."""
    return next((ln for ln in stderr.splitlines()
                 if ln.startswith("recdash: ") and " split, seen items " in ln), None)


def load(workspace: Path, name: str, root: Path) -> dict:
    """Import one dataset with the CLI (`demo`, or `import --public`); the step's record."""
    if name == DEMO:
        call = cli(workspace, "demo", "--name", DEMO)
        folder, kcore, source = None, 0, "the demo shop (`recdash demo`, scale 1, seed 0)"
    else:
        spec = next(s for s in SETS if s.name == name)
        folder, kcore, source = rel(root / spec.folder), spec.kcore, spec.source
        call = cli(workspace, "import", "--public", str(root / spec.folder), "--name", name,
                   *(["--kcore", str(spec.kcore)] if spec.kcore else []))
    report = call["payload"].get("report") or {}
    out = {"folder": folder, "kcore": kcore, "source": source, "ok": call["rc"] == 0,
           "command": call["args"], "seconds": call["seconds"],
           "stats": report.get("stats", {}),
           "findings": [{k: f.get(k) for k in ("severity", "code", "message")}
                        for f in report.get("findings", [])]}
    if call["rc"] != 0:
        out["error"] = _error(call)
    return out


def measure(workspace: Path, name: str, model: str, max_minutes: float) -> dict:
    """`evaluate` a baseline, or `train` the ranker, at default settings; the step's record."""
    if model == RANKER:
        call = cli(workspace, "train", "--data", name, "--model", RANKER,
                   "--max-minutes", f"{max_minutes:g}", "--device", "cpu")
    else:
        call = cli(workspace, "evaluate", "--data", name, "--model", model)
    payload = call["payload"]
    out = {"model": model, "ok": call["rc"] == 0, "command": call["args"],
           "seconds": call["seconds"], "chosen_protocol": _protocol_line(call["stderr"])}
    if call["rc"] != 0:
        return {**out, "error": _error(call)}
    metrics = payload.get("metrics", {})
    return {**out, "run": payload.get("run"), "NDCG@10": metrics.get("NDCG@10"),
            "HR@10": metrics.get("HR@10"), "metrics": metrics,
            "protocol": payload.get("protocol", {}), "notes": payload.get("notes", [])}


def training_facts(workspace: Path, run_id: str) -> dict:
    """The ranker run's epochs, stop reason, trials and chosen settings (from its params), and
    the network it kept (from its best checkpoint: text tower, width, history length)."""
    from recdash.models.attention.checkpoint import load_checkpoint
    from recdash.workspace import Workspace

    ws = Workspace(workspace)
    runs = ws.runs()
    row = runs[runs["id"] == run_id]
    if row.empty:
        return {"error": f"run {run_id} is not in the workspace's runs"}
    params = json.loads(row.iloc[0]["params"])
    trained, config = params.get("training", {}), params.get("config", {})
    history_file = ws.run_dir(run_id) / "history.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else []
    kept = load_checkpoint(ws.run_dir(run_id)).model_config
    return {"status": row.iloc[0]["status"], "epochs_run": trained.get("epochs_run"),
            "epochs_trained": history[-1]["epoch"] if history else None,
            "validations": len(history), "best_epoch": trained.get("best_epoch"),
            "stopped": trained.get("stopped"), "best_valid_ndcg": trained.get("best_ndcg"),
            "train_seconds": trained.get("seconds"), "trials": trained.get("trials", []),
            "chosen": trained.get("chosen", {}), "loss": config.get("loss"),
            "network": {k: kept.get(k) for k in ("use_text", "use_id", "dim", "max_len",
                                                 "n_layers", "dropout", "n_categories",
                                                 "n_brands", "n_price_bands")},
            "settings_asked": params.get("spec", {}).get("config"), "train_config": config}


def verdict(models: dict) -> dict | None:
    """The ranker's test NDCG@10 against the best baseline's, with the relative gap."""
    ranker = models.get(RANKER, {})
    scored = {m: r["NDCG@10"] for m, r in models.items()
              if m != RANKER and r.get("NDCG@10") is not None}
    if ranker.get("NDCG@10") is None or not scored:
        return None
    best = max(scored, key=scored.get)
    gap = (ranker["NDCG@10"] - scored[best]) / scored[best] if scored[best] else None
    return {"best_baseline": best, "best_baseline_ndcg10": scored[best],
            "ranker_ndcg10": ranker["NDCG@10"], "relative_gap": gap,
            "ranker_wins": ranker["NDCG@10"] > scored[best]}


def run_dataset(workspace: Path, name: str, root: Path, max_minutes: float) -> dict:
    """Import one dataset and measure every model on it; its record, import failure included."""
    print(f"{name}: import ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    # Per dataset: a checkout that moves during a long run shows which figures came from where.
    record = {"code": code_version(), "import": load(workspace, name, root), "models": {}}
    if record["import"]["ok"]:
        for model in (*BASELINES, RANKER):
            print(f"{name}: {model} ...", file=sys.stderr, flush=True)
            result = measure(workspace, name, model, max_minutes)
            if model == RANKER and result.get("run"):
                result["training"] = training_facts(workspace, result["run"])
            record["models"][model] = result
        record["verdict"] = verdict(record["models"])
    record["wall_seconds"] = round(time.perf_counter() - start, 1)
    return record


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _cell(result: dict | None) -> str:
    """NDCG@10 (HR@10) of one model, or why there is none."""
    if not result:
        return "n/a"
    if not result["ok"]:
        return "failed"
    return f"{_num(result['NDCG@10'])} ({_num(result['HR@10'])})"


def _training_cell(result: dict | None) -> str:
    """The ranker's training in a few words: epochs, why it stopped, softmax, text, tuning."""
    facts = (result or {}).get("training") or {}
    if not facts or "error" in facts:
        return "n/a"
    tried = len(facts["trials"])
    chosen = ", ".join(f"{k} {v}" for k, v in facts["chosen"].items()) or "the defaults"
    tuning = f"{tried} trials, kept {chosen}" if tried else "no tuning"
    text = "text on" if facts["network"]["use_text"] else "text off"
    return f"{facts['epochs_trained']:.1f} epochs (best {facts['best_epoch']:.1f}), " \
        f"{facts['stopped']}; {facts['loss']} softmax; {text}; {tuning}"


def table(datasets: dict) -> str:
    """The markdown table: NDCG@10 (HR@10) per model, the verdict and the ranker's training."""
    rows = []
    for name, rec in datasets.items():
        if not rec["import"]["ok"]:
            rows.append([name, "import failed", "", "", "", "", "", "", "",
                         f"{rec['wall_seconds']:.0f}"])
            continue
        models, v = rec["models"], rec.get("verdict")
        gap = f"{v['relative_gap']:+.1%}" if v and v["relative_gap"] is not None else "n/a"
        rows.append([name, *(_cell(models.get(m)) for m in (*BASELINES, RANKER)),
                     v["best_baseline"] if v else "n/a", gap,
                     ("ranker" if v["ranker_wins"] else v["best_baseline"]) if v else "n/a",
                     _training_cell(models.get(RANKER)), f"{rec['wall_seconds']:.0f}"])
    header = ["dataset", *(f"{m} NDCG@10 (HR@10)" for m in (*BASELINES, RANKER)),
              "best baseline", "ranker vs best", "wins", "ranker training", "wall s"]
    return markdown_table(header, rows)


def notes(datasets: dict) -> list[str]:
    """Per dataset: the protocol label and the CLI's own words on the split it chose; import
    errors."""
    out = []
    for name, rec in datasets.items():
        if not rec["import"]["ok"]:
            out.append(f"- {name}: the product could not import {rec['import']['folder']}: "
                       f"{rec['import']['error']}")
            continue
        first = next((r for r in rec["models"].values() if r.get("protocol")), None)
        if first:
            out.append(f"- {name}: {first['protocol']['label']}")
        said = next((r["chosen_protocol"] for r in rec["models"].values()
                     if r.get("chosen_protocol")), None)
        if said:
            out.append(f"  - {said}")
        for model, r in rec["models"].items():
            if not r["ok"]:
                out.append(f"  - {model} failed: {r['error']}")
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="folder holding the public dataset folders (relative to the "
                        "repository root)")
    parser.add_argument("--only", action="append", choices=NAMES,
                        help="run this dataset only (repeatable)")
    parser.add_argument("--max-minutes", type=float, default=10.0,
                        help="the ranker's training cap (the Train page's default: 10)")
    parser.add_argument("--workspace", help="workspace folder (default: a temporary one, "
                        "removed at the end)")
    parser.add_argument("--out", default=OUT, help="file name under bench/results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in NAMES if not args.only or n in args.only]
    folders = [s.folder for s in SETS if s.name in names]
    root = require_datasets(args.datasets, folders) if folders else Path(args.datasets)
    info = machine()
    temp = None if args.workspace else tempfile.TemporaryDirectory(prefix="recdash-defaults-")
    workspace = Path(args.workspace or temp.name).resolve()
    payload = {"benchmark": "defaults_vs_baselines", "machine": info,
               "command": reproduce_command(), "code": code_version(),
               "max_minutes": args.max_minutes,
               "datasets": {}}
    try:
        for name in names:
            payload["datasets"][name] = run_dataset(workspace, name, root, args.max_minutes)
            path = write_json(args.out, payload)  # after each dataset: a cut-short run keeps
            # what it measured
    finally:
        if temp is not None:
            temp.cleanup()
    print(table(payload["datasets"]))
    print()
    print("\n".join(notes(payload["datasets"])))
    print(f"\nwrote {rel(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
