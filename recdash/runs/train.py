"""Training one run end to end: load the spec's dataset, split it, build the model its kind
describes, fit it, evaluate it on the test stage, and record the run, its metrics and its files in
the workspace. `recdash train` / `evaluate` call this directly; a background job calls it in its
own process (`recdash.runs.jobs`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path
from typing import Callable

import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.data.splits import Split, all_events, every_position, make_split
from recdash.errors import RecdashError
from recdash.eval.evaluate import EvalResult, evaluate
from recdash.eval.protocol import Protocol
from recdash.eval.segments import VALIDATION
from recdash.models.base import TrainData
from recdash.progress import Progress, part
from recdash.runs.registry import BuildContext
from recdash.runs.spec import RunSpec, check_submission
from recdash.workspace import Workspace


def load_split(ws: Workspace, spec: RunSpec) -> tuple[Dataset, Split]:
    """The dataset and the split the spec describes (the same every time); for a refit, every
    event is training data."""
    ds = ws.load_dataset(spec.dataset)
    kcore = spec.kcore or int(ds.report.stats.get("kcore", 0))
    split = make_split(ds.interactions, ds.catalog, spec.split, kcore=kcore,  # type: ignore
                       candidates=spec.candidates)  # type: ignore[arg-type]
    return ds, all_events(split) if spec.refit_of else split


def refit_spec(ws: Workspace, run_id: str) -> RunSpec:
    """The spec that refits a finished, measured run on every event for use: its settings, and
    for the attention ranker the settings its tuning chose and as many epochs as its best
    validation took (without held-out events nothing stops early or tunes).

    Raises:
        RecdashError: an unknown run, one not finished, or a refit itself.
    """
    from dataclasses import replace

    from recdash.models.attention.config import AttentionSettings, with_changes
    from recdash.runs.load import run_spec

    spec, info = run_spec(ws, run_id)
    if info["status"] != "finished":
        raise RecdashError(f"run {run_id} is {info['status']}; only a finished run is refit")
    if spec.refit_of:
        raise RecdashError(f"run {run_id} is already a refit on every event (of run "
                           f"{spec.refit_of})")
    config = spec.config
    if isinstance(config, AttentionSettings):
        trained = json.loads(info["params"]).get("training", {})
        best = float(trained.get("best_epoch") or config.train.epochs)
        chosen = trained.get("chosen") or {}  # what tuning chose: kept, not tuned again
        model, train = with_changes(config.model, config.train, chosen, tune=False,
                                    epochs=max(1, math.ceil(best)))
        config = replace(config, model=model, train=train)
    return replace(spec, config=config, refit_of=run_id)


def text_embeddings(ws: Workspace, ds: Dataset, split: Split,
                    progress: Progress | None = None):
    """(I, 384) text embeddings of the split's items, cached in the dataset's folder (so they
    travel with it), or None when the catalog has no text."""
    from recdash.text import embed_catalog

    catalog = ds.products.reindex(pd.Index(split.items, name=S.ITEM)).reset_index()
    if catalog[S.TITLE].isna().all() and catalog[S.DESCRIPTION].isna().all():
        return None
    emb, _ = embed_catalog(catalog, ws.dataset_dir(ds.name) / "text-cache", progress=progress)
    return emb


def resumable(ws: Workspace, run_id: str) -> RunSpec:
    """The spec of a killed or cancelled run that can continue from its last checkpoint.

    Raises:
        RecdashError: an unknown run, one still running or finished, a model that keeps no
            checkpoints, or no checkpoint written yet; each says what to do instead.
    """
    from recdash.models.attention.checkpoint import find_checkpoint
    from recdash.models.attention.ranker import TUNE_DIR
    from recdash.runs.load import run_row, run_spec

    status = run_row(ws, run_id)["status"]
    if status == "finished":
        raise RecdashError(f"run {run_id} finished; there is nothing to resume (train a new run "
                           "to change its settings)")
    if status == "running":
        raise RecdashError(f"run {run_id} is still running (if its process was killed, "
                           "`recdash jobs` notices it and marks it failed; then resume it)")
    spec, _ = run_spec(ws, run_id)
    if not spec.kind.checkpointed:
        raise RecdashError(f"run {run_id} is a {spec.kind.label} run, which keeps no "
                           "checkpoints (it fits in seconds): train it again instead")
    run_dir = ws.run_dir(run_id)
    trials = sorted((run_dir / TUNE_DIR).glob("*")) if (run_dir / TUNE_DIR).is_dir() else []
    if all(find_checkpoint(d, "latest") is None for d in [run_dir, *trials]):
        raise RecdashError(f"run {run_id} was stopped before its first checkpoint; there is "
                           "nothing to resume: train it again")
    check_submission(ws, spec)
    return spec


def run_evaluation(ws: Workspace, spec: RunSpec, progress: Progress | None = None,
                   on_event: Callable | None = None,
                   run_id: str | None = None) -> tuple[str, EvalResult]:
    """Fit the spec's model on its dataset and evaluate it; returns (run id, test result).

    The validation stage's accuracy is kept too (segment VALIDATION), for choosing between runs
    without reading the test stage. A refit (`spec.refit_of`) trains on every event and is not
    evaluated: its result is None.

    The run is recorded as 'running' first and 'finished' or 'failed' at the end, so a crash
    never leaves metrics without their run. Files (checkpoints, history) go to the run folder.
    Under torchrun, processes other than rank 0 only help training and return (run id, None).

    Args:
        ws: the workspace.
        spec: what to train and how to evaluate it.
        progress: receives (fraction done, message).
        on_event: receives the trainer's events (steps, epochs).
        run_id: a failed or cancelled run to resume from its last checkpoint (its spec must be
            `spec`: see `resumable`); None starts a new run.
    """
    check_submission(ws, spec)
    ds, split = load_split(ws, spec)
    rank = _join_process_group(spec)
    if rank == 0 and run_id is not None:
        if not ws.reopen_run(run_id):
            raise RecdashError(f"run {run_id} cannot be resumed: it is not failed or cancelled")
    elif rank == 0:
        run_id = ws.create_run(spec.dataset, spec.model, {"spec": spec.to_dict()}, {})
    run_id = _share(run_id, spec)
    run_dir = ws.run_dir(run_id)
    kind = spec.kind
    if rank != 0:
        model = kind.build(spec.config, BuildContext(ws, ds, split, run_dir, spec.device))
        model.fit(TrainData.from_split(split, ds.catalog))
        return run_id, None  # type: ignore[return-value]
    try:
        ctx = BuildContext(ws, ds, split, run_dir, spec.device, on_event,
                           part(progress, 0.0, 0.05))
        model = kind.build(spec.config, ctx)
        model.fit(TrainData.from_split(split, ds.catalog), progress=part(progress, 0.05, 0.85))
        result = valid = None
        if not spec.refit_of:  # a refit holds nothing out: it has no metrics of its own
            result = evaluate(model, split, ks=spec.ks, exclude_seen=spec.exclude_seen,
                              catalog=ds.catalog, progress=part(progress, 0.85, 0.95))
            valid = evaluate(model, split, stage="valid", ks=spec.ks,
                             exclude_seen=spec.exclude_seen, progress=part(progress, 0.95, 1.0)
                             ) if len(split.valid.users) else None
    except BaseException as exc:
        ws.finish_run(run_id, {}, status="failed", message=str(exc) or type(exc).__name__)
        raise
    config = getattr(model, "train_config", getattr(model, "config", None))
    params = {"spec": spec.to_dict(),
              "config": asdict(config) if is_dataclass(config) else {}}
    trained = getattr(model, "result", None)
    if trained is not None:
        params["training"] = {k: v for k, v in asdict(trained).items() if k != "history"}
        (run_dir / "history.json").write_text(json.dumps(trained.history))
    ws.set_run_params(run_id, params)
    if result is None:
        ws.finish_run(run_id, {})
        return run_id, None  # type: ignore[return-value]
    ws.set_run_protocol(run_id, result.protocol.to_dict())
    metrics = {"all": result.metrics, **{seg: vals for seg, vals in result.segments.items()
                                         if seg != "all"}}
    if valid is not None:  # what choosing between runs reads: never the test stage
        metrics[VALIDATION] = {k: v for k, v in valid.metrics.items()
                               if k.partition("@")[0] in ("HR", "Recall", "NDCG", "MRR")}
    ws.finish_run(run_id, metrics)
    return run_id, result


def _join_process_group(spec: RunSpec) -> int:
    """This process's rank when torchrun launched several for a GPU model, else 0."""
    if not spec.kind.uses_gpu:
        return 0
    from recdash.models.attention import distributed as dist
    from recdash.models.attention.train import resolve_device

    if dist.world_size() <= 1:
        return 0
    return dist.setup(resolve_device(spec.device))[0]


def _share(run_id: str | None, spec: RunSpec) -> str:
    if not spec.kind.uses_gpu:
        return run_id  # type: ignore[return-value]
    from recdash.models.attention import distributed as dist
    return dist.share(run_id)


def run_pairs(ws: Workspace, spec: RunSpec, pairs_file: str | Path,
              progress: Progress | None = None) -> tuple[str, dict[str, float], Protocol]:
    """Fit the spec's model and score the given (prefix, next item) pairs (see
    `recdash.eval.pairs`): a published session split, reproduced exactly.

    The model trains on every event of the dataset's sequences except those of the sessions
    the pairs file names (its `session_id` column), so no test session leaks into training,
    and but the last event of 10% of the sequences, which early stopping validates on (see
    `recdash.data.splits.every_position`).

    Returns:
        (run id, metrics, protocol).

    Raises:
        RecdashError: an unknown dataset, or a pairs file that cannot be read.
    """
    from recdash.eval.pairs import evaluate_pairs, read_pairs

    check_submission(ws, spec)
    spec = replace(spec, exclude_seen=False)  # the pairs protocol keeps the prefix's items
    pairs = read_pairs(pairs_file)
    ds = ws.load_dataset(spec.dataset)
    events = ds.interactions[~ds.interactions[S.USER].isin(pairs.sessions)]
    if events.empty:
        raise RecdashError(f"every sequence of '{spec.dataset}' is a test session of "
                           f"{Path(pairs_file).name}: nothing is left to train on")
    split = every_position(make_split(events, ds.catalog, "loo", candidates="interacted"))
    run_id = ws.create_run(spec.dataset, spec.model, {"spec": spec.to_dict(),
                                                      "pairs": Path(pairs_file).name}, {})
    try:
        model = spec.kind.build(spec.config, BuildContext(ws, ds, split, ws.run_dir(run_id),
                                                          spec.device, None,
                                                          part(progress, 0.0, 0.05)))
        data = TrainData.from_split(split, ds.catalog)
        model.fit(data, progress=part(progress, 0.05, 0.8))
        metrics = evaluate_pairs(model, split.items, pairs, spec.ks, part(progress, 0.8, 1.0))
    except BaseException as exc:
        ws.finish_run(run_id, {}, status="failed", message=str(exc) or type(exc).__name__)
        raise
    trained = getattr(model, "result", None)
    if trained is not None:  # the attention ranker: its epochs, as run_evaluation keeps them
        ws.set_run_params(run_id, {"spec": spec.to_dict(), "pairs": Path(pairs_file).name,
                                   "training": {k: v for k, v in asdict(trained).items()
                                                if k != "history"}})
        (ws.run_dir(run_id) / "history.json").write_text(json.dumps(trained.history))
    protocol = Protocol("pairs", "test", "full", split.n_items, "interacted", spec.ks, False,
                        0, len(pairs))
    ws.set_run_protocol(run_id, {**protocol.to_dict(), "pairs_file": Path(pairs_file).name})
    ws.finish_run(run_id, {"all": metrics})
    return run_id, metrics, protocol
