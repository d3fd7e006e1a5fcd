"""Workspace runs as tables for comparison, and a finished run's recommendations for export.

The studio's Train and Evaluate pages, a notebook and a report read runs the same way: one row per
run with its protocol badge beside its numbers (a metric without its protocol is unreadable:
Krichene & Rendle, KDD 2020), or one row per (run, segment, metric) for charts. Every function
here is pure apart from reading the workspace; `recommendations_for_all` also keeps its result in
the run's folder, so a run is scored for export once.
"""

from __future__ import annotations

import json
import os
import uuid

import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.eval.protocol import Protocol
from recdash.eval.segments import SEGMENTS, VALIDATION
from recdash.exports import MIME, table_bytes
from recdash.progress import Progress
from recdash.workspace import Workspace

HEADLINE = ("NDCG@10", "HR@10", "Coverage@10")  # the numbers a run is summarised by
BEST_BY = "NDCG@10"  # "the best run" is the one with the highest of this metric
ACCURACY = ("NDCG", "HR", "Recall", "MRR")  # metric families that score hits on the target
RUN_COLUMNS = ("run_id", "run", "model", "status", "badge", "protocol", "settings", "created",
               "seconds", "message", "validation", "refit_of")
LONG_COLUMNS = ("run_id", "run", "model", "badge", "segment", "metric", "value")
EXPORT_COLUMNS = (S.USER, "rank", S.ITEM, S.TITLE, S.CATEGORY, "score")
EXPORT_FORMATS = MIME  # file format -> MIME type
EXPORT_BATCH = 1024  # users scored per step of an export


def protocol_of(text: str) -> Protocol | None:
    """The Protocol stored with a run (JSON), or None when the run has none yet."""
    data = json.loads(text or "{}")
    return Protocol.from_dict(data) if data.get("split") else None


def settings_summary(params: str) -> str:
    """A run's settings in a few words, from its stored params JSON, e.g. 'epochs 5, dim 32'
    (`RunSpec.summary`: what differs from the model's defaults); "?" when they cannot be read."""
    from recdash.runs.spec import RunSpec

    spec = json.loads(params or "{}").get("spec")
    if not spec:
        return "defaults"
    try:
        return RunSpec.from_dict(spec, stored=True).summary()
    except RecdashError:
        return "? (settings of an unknown form)"


def runs_table(ws: Workspace, dataset: str, statuses: tuple[str, ...] | None = ("finished",)
               ) -> pd.DataFrame:
    """One row per run of `dataset`, oldest first, with its overall ("all") metrics as columns.

    Args:
        ws: the workspace.
        dataset: the dataset's name.
        statuses: keep runs in these states (None: every run).

    Returns:
        RUN_COLUMNS, then one column per metric (NaN where a run lacks it). `run` is a short,
        stable name such as 'attention #2' (the model's runs on this dataset numbered in creation
        order); `badge` and `protocol` are the Protocol's badge and label ("" for runs that never
        reached evaluation); `created` is a UTC timestamp and `seconds` the run's wall time.
        `validation` is the run's `ranking_metric` on the validation stage (what choosing
        between runs reads; NaN for runs measured before it was kept, and for refits); `refit_of` names the run a refit on every event
        was made from ("" for measured runs).
    """
    runs = ws.runs(dataset)
    if runs.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    runs["run"] = runs["model"] + " #" + (runs.groupby("model").cumcount() + 1).astype(str)
    if statuses is not None:
        runs = runs[runs["status"].isin(statuses)]
    protocols = [protocol_of(p) for p in runs["protocol"]]
    table = pd.DataFrame({
        "run_id": runs["id"], "run": runs["run"], "model": runs["model"],
        "status": runs["status"],
        "badge": [p.badge() if p else "" for p in protocols],
        "protocol": [p.label() if p else "" for p in protocols],
        "settings": [settings_summary(p) for p in runs["params"]],
        "created": pd.to_datetime(runs["created"], unit="s", utc=True),
        "seconds": runs["finished"] - runs["created"],
        "message": runs["message"],
    }).reset_index(drop=True)
    stored = [ws.metrics(r) for r in table["run_id"]]
    table["validation"] = [m.get(VALIDATION, {}).get(ranking_metric(m.get(VALIDATION, {})),
                                                      float("nan")) for m in stored]
    table["refit_of"] = [json.loads(p or "{}").get("spec", {}).get("refit_of", "")
                         for p in runs["params"]]
    metrics = pd.DataFrame([m.get("all", {}) for m in stored], index=table.index)
    return pd.concat([table, metrics[sorted(metrics.columns, key=_metric_order)]], axis=1)


def _metric_order(name: str) -> tuple[str, int]:
    family, _, k = name.partition("@")
    return family, int(k) if k.isdigit() else 0


def metric_names(runs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The metric columns of a `runs_table`, split into accuracy metrics (NDCG, HR, Recall,
    MRR) and beyond-accuracy ones (coverage, novelty, diversity, popularity), each sorted by
    family then k."""
    names = sorted((c for c in runs.columns if c not in RUN_COLUMNS), key=_metric_order)
    accuracy = [n for n in names if n.partition("@")[0] in ACCURACY]
    return accuracy, [n for n in names if n not in accuracy]


def metric_long_table(ws: Workspace, dataset: str, run_ids: list[str] | None = None
                      ) -> pd.DataFrame:
    """Every metric of every segment of finished runs, one row each (for charts).

    Args:
        ws: the workspace.
        dataset: the dataset's name.
        run_ids: keep only these runs, in this order (None: every finished run, oldest first).

    Returns:
        LONG_COLUMNS; `segment` is one of SEGMENTS; the count of users in a segment is the
        metric "users".
    """
    runs = runs_table(ws, dataset)[["run_id", "run", "model", "badge"]]
    if run_ids is not None:
        runs = runs.set_index("run_id").reindex(run_ids).dropna(subset=["run"]).reset_index()
    rows = [(r.run_id, r.run, r.model, r.badge, seg, name, value)
            for r in runs.itertuples(index=False)
            for seg, values in ws.metrics(r.run_id).items() for name, value in values.items()]
    return pd.DataFrame(rows, columns=list(LONG_COLUMNS))


def segment_table(long: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric by run (rows, in the table's order) and segment (columns, in SEGMENTS order).

    Args:
        long: a `metric_long_table`.
        metric: e.g. "NDCG@10".
    """
    rows = long[long["metric"] == metric]
    wide = rows.pivot(index="run", columns="segment", values="value")
    order = list(dict.fromkeys(long["run"]))
    return wide.reindex(index=order, columns=[s for s in SEGMENTS if s in wide.columns])


def segment_users(long: pd.DataFrame) -> pd.Series:
    """Users per segment, from a `metric_long_table` (runs on one split share these counts, so
    the first run's are taken); segments without a count are left out."""
    rows = long[long["metric"] == "users"].drop_duplicates("segment")
    return rows.set_index("segment")["value"].astype(int)


def progress_summary(events: list[dict]) -> dict:
    """Where a training job stands, from its events (see `recdash.runs.jobs.events`).

    Returns:
        epoch (completed epochs), epochs, items_per_s, eta_s, loss, best_ndcg; None for a value
        no event has reported yet.
    """
    last = next((e for e in reversed(events) if e.get("kind") != "done"), {})
    best = [e["best_ndcg"] for e in events if e.get("best_ndcg") is not None]
    return {"epoch": last.get("epoch"), "epochs": last.get("epochs"),
            "items_per_s": last.get("items_per_s"), "eta_s": last.get("eta_s"),
            "loss": last.get("loss"), "best_ndcg": best[-1] if best else None}


def recommendations_for_all(ws: Workspace, run_id: str, k: int = 10,
                            progress: Progress | None = None,
                            preset: str | None = None) -> pd.DataFrame:
    """Top-k for every user of a finished run, from each user's whole history (training,
    validation and test events: what the shop would show them next), through the serving path.

    Scored once and kept in the run's folder (`recommendations-top<k>[-preset].parquet`).

    Args:
        ws: the workspace.
        run_id: a finished run.
        k: list length (1-1000).
        progress: receives (fraction done, message).
        preset: a re-ranking preset (`recdash.rerank.presets`) applied to each user's top
            candidates; None for the model's own order.

    Returns:
        EXPORT_COLUMNS, one row per user and rank, with the shop's item IDs, titles and
        categories; seen items are left out when the run excluded them.

    Raises:
        RecdashError: an unknown or unfinished run, or a k out of range.
    """
    from recdash.recommend import check_k
    from recdash.runs.load import load_run

    check_k(k)
    setting = None
    if preset is not None:
        from dataclasses import replace

        from recdash.rerank.presets import get_preset

        setting = replace(get_preset(ws, preset), k=k)  # checks the name: safe in a file name
    path = ws.run_dir(run_id) / export_name(k, preset)
    if path.exists():
        return pd.read_parquet(path)
    report = progress or (lambda f, m: None)
    report(0.0, "loading the model")
    return write_export(ws, load_run(ws, run_id), k, setting, path, report)


def write_export(ws: Workspace, service, k: int, setting, path, progress: Progress
                 ) -> pd.DataFrame:
    """Score every stored shopper of a loaded run (`Service`) and write the table to `path`
    atomically; `setting` re-ranks (None: the model's order)."""
    rerank = None
    if setting is not None:
        from recdash.rerank.run import reranker, run_context

        rerank = reranker(setting, run_context(service, ws))
    parts = list(service.recommend_all(k, rerank=rerank, batch=EXPORT_BATCH,
                                       progress=progress))
    recs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(EXPORT_COLUMNS))
    out = recs[list(EXPORT_COLUMNS)]
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}.parquet")
    out.to_parquet(tmp, index=False)
    os.replace(tmp, path)  # a half-written file is never read as the export
    progress(1.0, f"{len(service.split.users):,} users scored")
    return pd.read_parquet(path)  # the same types as every later read


def export_recommendations(ws: Workspace, run_id: str, fmt: str, k: int = 10,
                           progress: Progress | None = None, preset: str | None = None) -> bytes:
    """A finished run's recommendations for every user as a CSV, Excel or Parquet file (text that
    a spreadsheet would run as a formula is neutralised in CSV and Excel: `recdash.exports`).

    Args:
        ws: the workspace.
        run_id: a finished run.
        fmt: "csv", "xlsx" or "parquet" (see EXPORT_FORMATS).
        k: list length.
        progress: receives (fraction done, message) while the run is scored.
        preset: a re-ranking preset to apply, or None.

    Returns:
        The file's bytes: the table of `recommendations_for_all`.

    Raises:
        RecdashError: an unknown format, or what `recommendations_for_all` raises.
    """
    if fmt not in EXPORT_FORMATS:
        raise RecdashError(f"unknown export format {fmt!r}; choose one of "
                           f"{', '.join(EXPORT_FORMATS)}")
    return table_bytes(recommendations_for_all(ws, run_id, k, progress, preset), fmt)


def export_name(k: int, preset: str | None = None) -> str:
    """The file in the run's folder that keeps its top-k for every user (per preset)."""
    return f"recommendations-top{k}" + (f"-{preset}" if preset else "") + ".parquet"


def has_export(ws: Workspace, run_id: str, k: int = 10, preset: str | None = None) -> bool:
    """Whether the run's top-k for every user is computed already (an export is then instant)."""
    return (ws.run_dir(run_id) / export_name(k, preset)).exists()


def ranking_metric(names) -> str:
    """The metric runs are ranked by: BEST_BY where it was measured, else NDCG at the shortest
    list length measured (e.g. NDCG@20 for a session benchmark measured at 20 only)."""
    names = [n for n in names if n not in RUN_COLUMNS]
    if BEST_BY in names:
        return BEST_BY
    ndcg = sorted((n for n in names if n.startswith("NDCG@")), key=_metric_order)
    return ndcg[0] if ndcg else BEST_BY


def _measured(runs: pd.DataFrame) -> str:
    """ranking_metric of a runs_table: among the columns that hold a value."""
    return ranking_metric([c for c in runs.columns if runs[c].notna().any()])


def best_run(runs: pd.DataFrame) -> str:
    """Of a `runs_table`, the run to use: the one with the highest `ranking_metric` on
    validation (on the test stage if no run has validation figures), the newest among ties (runs
    are oldest first), or its newest refit on every event where it has one; the newest run when
    no run has a figure."""
    chosen = runs["run"].iloc[-1]
    for column in ("validation", _measured(runs)):
        if column in runs and runs[column].notna().any():
            score = runs[column]
            chosen = runs.loc[score >= score.max() - 1e-12, "run"].iloc[-1]
            break
    if "refit_of" in runs:
        source = runs.loc[runs["run"] == chosen, "run_id"].iloc[0]
        refits = runs.loc[runs["refit_of"] == source, "run"]
        if len(refits):
            return refits.iloc[-1]
    return chosen


def verdict(runs: pd.DataFrame, metric: str | None = None) -> tuple[str, str] | None:
    """Whether the headline model (the attention ranker) beats the baselines, in words.

    Compares the best headline run with the best baseline run measured the same way (the same
    protocol badge as the newest headline run), so a model that learnt nothing beyond best
    sellers is never shown without saying so.

    Args:
        runs: a `runs_table`.
        metric: the metric compared (default: `ranking_metric`).

    Returns:
        ("loses" or "wins", a sentence), or None when there is no headline run or no baseline
        run measured the same way.
    """
    from recdash.runs.registry import MODELS

    metric = metric or _measured(runs)
    if metric not in runs or runs.empty:
        return None
    headline = {name for name, kind in MODELS.items() if kind.headline}
    ours = runs[runs["model"].isin(headline) & runs[metric].notna()]
    if ours.empty:
        return None
    same = runs[(runs["badge"] == ours["badge"].iloc[-1]) & runs[metric].notna()]
    ours, theirs = same[same["model"].isin(headline)], same[~same["model"].isin(headline)]
    if ours.empty or theirs.empty:
        return None
    mine, best = ours.loc[ours[metric].idxmax()], theirs.loc[theirs[metric].idxmax()]
    label = MODELS[mine["model"]].label.lower()
    other = MODELS[best["model"]].label
    a, b = float(mine[metric]), float(best[metric])
    if a <= b:
        gap = f" ({(b - a) / a:.0%} higher)" if a > 0 else ""
        return "loses", (f"The {label} does not beat {other} on this data: {other} "
                         f"({best['run']}) reaches {metric} {b:.4f}{gap}, the best {label} run "
                         f"({mine['run']}) {a:.4f}. Serve and export {other} here, or train the "
                         f"{label} with other settings.")
    return "wins", (f"The {label} ({mine['run']}) beats every baseline measured the same way: "
                    f"{metric} {a:.4f} against {b:.4f} for {other} ({best['run']}), "
                    f"{(a - b) / b:+.0%}." if b > 0 else
                    f"The {label} ({mine['run']}) beats every baseline measured the same way.")
