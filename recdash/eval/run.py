"""One evaluation run end to end: load a stored dataset, split it, fit a model, evaluate it, and
record the run and its metrics in the workspace. The CLI and the studio both call this.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass

from recdash.data.splits import make_split
from recdash.eval.evaluate import EvalResult, evaluate
from recdash.models import BASELINES
from recdash.models.base import Progress, TrainData
from recdash.errors import RecdashError
from recdash.workspace import Workspace


@dataclass(frozen=True)
class RunSpec:
    """What to evaluate and how.

    Attributes:
        dataset: the stored dataset's name.
        model: a key of recdash.models.BASELINES.
        split: "loo" or "temporal".
        ks: list lengths.
        exclude_seen: remove history items from the ranking.
        candidates: "catalog" or "interacted".
        kcore: k-core filter before splitting (0 = the data as stored).
    """

    dataset: str
    model: str
    split: str = "loo"
    ks: tuple[int, ...] = (10, 20, 50)
    exclude_seen: bool = True
    candidates: str = "catalog"
    kcore: int = 0


def run_evaluation(ws: Workspace, spec: RunSpec,
                   progress: Progress | None = None) -> tuple[str, EvalResult]:
    """Fit and evaluate spec.model on spec.dataset; returns (run id, test result).

    The run is recorded as 'running' first and 'finished' or 'failed' at the end, so a crash
    never leaves metrics without their run.
    """
    if spec.model not in BASELINES:
        raise RecdashError(f"unknown model {spec.model!r}; choose one of "
                           f"{', '.join(BASELINES)}")
    ds = ws.load_dataset(spec.dataset)
    kcore = spec.kcore or int(ds.report.stats.get("kcore", 0))
    split = make_split(ds.interactions, ds.catalog, spec.split, kcore=kcore,
                       candidates=spec.candidates)  # type: ignore[arg-type]
    model = BASELINES[spec.model]()
    config = getattr(model, "config", None)
    params = {"spec": asdict(spec), "config": asdict(config) if is_dataclass(config) else {}}
    run_id = ws.create_run(spec.dataset, spec.model, params, {})
    try:
        def fit_progress(frac: float, msg: str) -> None:
            if progress:
                progress(0.5 * frac, f"fit: {msg}")

        def eval_progress(frac: float, msg: str) -> None:
            if progress:
                progress(0.5 + 0.5 * frac, msg)

        model.fit(TrainData.from_split(split, ds.catalog), progress=fit_progress)
        result = evaluate(model, split, ks=spec.ks, exclude_seen=spec.exclude_seen,
                          catalog=ds.catalog, progress=eval_progress)
    except BaseException as exc:
        ws.finish_run(run_id, {}, status="failed", message=str(exc))
        raise
    ws.set_run_protocol(run_id, result.protocol.to_dict())
    ws.finish_run(run_id, {"all": result.metrics, **{
        seg: vals for seg, vals in result.segments.items() if seg != "all"}})
    return run_id, result
