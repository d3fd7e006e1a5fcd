"""One run end to end: load a stored dataset, split it, fit a model (a baseline or the attention
ranker), evaluate it on the test stage, and record the run, its metrics and its files in the
workspace. The CLI and the studio both call this; a reloaded run serves recommendations.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.data.splits import Split, make_split
from recdash.errors import RecdashError
from recdash.eval.evaluate import EvalResult, evaluate
from recdash.models import BASELINES
from recdash.models.base import Progress, Recommender, TrainData
from recdash.workspace import Workspace

MODELS = (*BASELINES, "attention")


@dataclass(frozen=True)
class RunSpec:
    """What to train and evaluate, and how.

    Attributes:
        dataset: the stored dataset's name.
        model: a key of recdash.models.BASELINES, or "attention".
        split: "loo" or "temporal".
        ks: list lengths.
        exclude_seen: remove history items from the ranking.
        candidates: "catalog" or "interacted".
        kcore: k-core filter before splitting (0 = as stored, or the import's filter).
        device: "auto", "cpu" or "cuda" (the attention ranker).
        settings: AttentionConfig / TrainConfig fields to override, e.g. {"epochs": 50}; and
            "text": False to train without the text tower.
    """

    dataset: str
    model: str
    split: str = "loo"
    ks: tuple[int, ...] = (10, 20, 50)
    exclude_seen: bool = True
    candidates: str = "catalog"
    kcore: int = 0
    device: str = "auto"
    settings: dict = field(default_factory=dict)


def load_split(ws: Workspace, spec: RunSpec) -> tuple[Dataset, Split]:
    """The dataset and the split the spec describes (the same every time)."""
    ds = ws.load_dataset(spec.dataset)
    kcore = spec.kcore or int(ds.report.stats.get("kcore", 0))
    split = make_split(ds.interactions, ds.catalog, spec.split, kcore=kcore,  # type: ignore
                       candidates=spec.candidates)  # type: ignore[arg-type]
    return ds, split


def text_embeddings(ws: Workspace, ds: Dataset, split: Split,
                    progress: Progress | None = None):
    """(I, 384) text embeddings of the split's items, cached in the dataset's folder (so they
    travel with it), or None when the catalog has no text."""
    from recdash.text import embed_catalog

    catalog = ds.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM).reindex(
        pd.Index(split.items, name=S.ITEM)).reset_index()
    if catalog[S.TITLE].isna().all() and catalog[S.DESCRIPTION].isna().all():
        return None
    emb, _ = embed_catalog(catalog, ws.dataset_dir(ds.name) / "text-cache", progress=progress)
    return emb


def _pick(cls, settings: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in settings.items() if k in names}


def build_model(ws: Workspace, spec: RunSpec, ds: Dataset, split: Split, run_dir: Path,
                on_event: Callable | None = None, progress: Progress | None = None
                ) -> Recommender:
    """The model the spec names, configured, not yet fitted."""
    if spec.model in BASELINES:
        return BASELINES[spec.model]()
    if spec.model != "attention":
        raise RecdashError(f"unknown model {spec.model!r}; choose one of {', '.join(MODELS)}")
    from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig

    unknown = set(spec.settings) - {f.name for f in fields(AttentionConfig)} - {
        f.name for f in fields(TrainConfig)} - {"text"}
    if unknown:
        raise RecdashError(f"unknown attention setting(s) {sorted(unknown)}; see "
                           "AttentionConfig and TrainConfig")
    text = text_embeddings(ws, ds, split, progress) if spec.settings.get("text", True) else None
    model_cfg = AttentionConfig(n_items=0, use_text=text is not None,
                                **_pick(AttentionConfig, spec.settings))
    train_cfg = TrainConfig(**{**_pick(TrainConfig, spec.settings), "device": spec.device})
    return AttentionRanker(model_cfg, train_cfg, run_dir, text, on_event)


def run_evaluation(ws: Workspace, spec: RunSpec, progress: Progress | None = None,
                   on_event: Callable | None = None) -> tuple[str, EvalResult]:
    """Fit spec.model on spec.dataset and evaluate it; returns (run id, test result).

    The run is recorded as 'running' first and 'finished' or 'failed' at the end, so a crash
    never leaves metrics without their run. Files (checkpoints, history) go to the run folder.
    """
    if spec.model not in MODELS:
        raise RecdashError(f"unknown model {spec.model!r}; choose one of {', '.join(MODELS)}")
    ds, split = load_split(ws, spec)
    rank = _join_process_group(spec)
    run_id = ws.create_run(spec.dataset, spec.model, {"spec": asdict(spec)}, {}) \
        if rank == 0 else None
    run_id = _share(run_id)
    run_dir = ws.run_dir(run_id)
    if rank != 0:  # under torchrun the other processes only help training
        model = build_model(ws, spec, ds, split, run_dir, None, None)
        model.fit(TrainData.from_split(split, ds.catalog))
        return run_id, None  # type: ignore[return-value]
    try:
        def part(lo: float, hi: float) -> Progress:
            return lambda f, m: progress(lo + (hi - lo) * f, m) if progress else None

        model = build_model(ws, spec, ds, split, run_dir, on_event, part(0.0, 0.05))
        config = getattr(model, "train_config", getattr(model, "config", None))
        model.fit(TrainData.from_split(split, ds.catalog), progress=part(0.05, 0.9))
        result = evaluate(model, split, ks=spec.ks, exclude_seen=spec.exclude_seen,
                          catalog=ds.catalog, progress=part(0.9, 1.0))
    except BaseException as exc:
        ws.finish_run(run_id, {}, status="failed", message=str(exc) or type(exc).__name__)
        raise
    params = {"spec": asdict(spec), "config": asdict(config) if is_dataclass(config) else {}}
    trained = getattr(model, "result", None)
    if trained is not None:
        params["training"] = {k: v for k, v in asdict(trained).items() if k != "history"}
        (run_dir / "history.json").write_text(json.dumps(trained.history))
    ws.set_run_params(run_id, params)
    ws.set_run_protocol(run_id, result.protocol.to_dict())
    ws.finish_run(run_id, {"all": result.metrics, **{
        seg: vals for seg, vals in result.segments.items() if seg != "all"}})
    return run_id, result


def _join_process_group(spec: RunSpec) -> int:
    """This process's rank when launched by torchrun for the attention ranker, else 0."""
    if spec.model != "attention":
        return 0
    from recdash.models.attention import distributed as dist
    from recdash.models.attention.train import resolve_device

    if dist.world_size() <= 1:
        return 0
    return dist.setup(resolve_device(spec.device))[0]


def _share(run_id: str | None) -> str:
    from recdash.models.attention import distributed as dist
    return dist.share(run_id)


def load_run(ws: Workspace, run_id: str, device: str = "cpu"
             ) -> tuple[Recommender, Dataset, Split]:
    """A finished run's model, ready to recommend, with its dataset and split.

    The attention ranker is restored from its checkpoint; baselines are refitted (seconds).
    """
    runs = ws.runs()
    row = runs[runs["id"] == run_id]
    if row.empty:
        raise RecdashError(f"no run {run_id!r} in {ws.root}; list runs with `recdash runs`")
    info = row.iloc[0]
    if info["status"] != "finished":
        raise RecdashError(f"run {run_id} is {info['status']}, not finished: {info['message']}")
    raw = json.loads(info["params"])["spec"]
    spec = RunSpec(**{**raw, "ks": tuple(raw["ks"])})
    ds, split = load_split(ws, spec)
    data = TrainData.from_split(split, ds.catalog)
    if spec.model == "attention":
        from recdash.models.attention import AttentionRanker
        return AttentionRanker.load(ws.run_dir(run_id), data, device=device), ds, split
    return BASELINES[spec.model]().fit(data), ds, split


def recommend_user(model: Recommender, ds: Dataset, split: Split, user: str,
                   k: int = 10) -> pd.DataFrame:
    """Top-k for a user from their whole history (all splits), with titles and categories."""
    pos = pd.Index(split.users).get_indexer([user])[0]
    if pos < 0:  # an unknown user gets popular items
        hist = ([np.zeros(0, np.int32)], [np.zeros(0, np.int8)], [np.zeros(0)])
    else:
        items, events, times = split.sequences.select_context(np.array([pos]))
        hist = (items, events, times)
    recs = model.rank([user], *hist, k=k)
    cat = ds.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)
    return recs.join(cat[[S.TITLE, S.CATEGORY, S.PRICE]], on=S.ITEM)
