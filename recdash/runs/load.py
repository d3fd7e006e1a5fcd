"""Loading a finished run for serving: its spec read back as itself, its dataset and split, and
its model restored (from the checkpoint, or refitted in seconds for a baseline), wrapped in the
serving path's `Service`.
"""

from __future__ import annotations

import json

from recdash.errors import RecdashError
from recdash.models.base import TrainData
from recdash.recommend import Service
from recdash.runs.registry import BuildContext
from recdash.runs.spec import RunSpec
from recdash.runs.train import load_split
from recdash.workspace import Workspace


def run_row(ws: Workspace, run_id: str) -> dict:
    """A run's catalog row; raises RecdashError for an unknown run."""
    runs = ws.runs()
    row = runs[runs["id"] == run_id]
    if row.empty:
        raise RecdashError(f"no run {run_id!r} in {ws.root}; list runs with `recdash runs`")
    return row.iloc[0].to_dict()


def run_spec(ws: Workspace, run_id: str) -> tuple[RunSpec, dict]:
    """A run's spec and its catalog row.

    Raises:
        RecdashError: an unknown run, or a stored spec that cannot be read (the field named).
    """
    info = run_row(ws, run_id)
    try:
        raw = json.loads(info["params"])["spec"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RecdashError(f"run {run_id}'s stored settings cannot be read ({exc}); train it "
                           "again") from None
    return RunSpec.from_dict(raw, where=f"run {run_id}", stored=True), info


def load_run(ws: Workspace, run_id: str, device: str = "cpu") -> Service:
    """A finished run ready to serve: `.model`, `.dataset`, `.split`, and its lists.

    Raises:
        RecdashError: an unknown or unfinished run.
    """
    info = run_row(ws, run_id)
    if info["status"] != "finished":
        raise RecdashError(f"run {run_id} is {info['status']}, not finished: {info['message']}")
    spec, _ = run_spec(ws, run_id)
    ds, split = load_split(ws, spec)
    data = TrainData.from_split(split, ds.catalog)
    kind = spec.kind
    if kind.restore is not None:
        model = kind.restore(spec.config, ws.run_dir(run_id), data, device)
    else:
        model = kind.build(spec.config, BuildContext(ws, ds, split, ws.run_dir(run_id),
                                                     device)).fit(data)
    return Service(model, ds, split, exclude_seen=spec.exclude_seen, run_id=run_id)
