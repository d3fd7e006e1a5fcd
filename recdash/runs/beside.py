"""The baselines that train beside a headline model, so that its numbers always have a bar.

A ranker is only worth serving if it beats what a shop gets for free: best sellers, a linear
item model, and, for session logs, what followed the last click. When the attention ranker is
queued, the baselines below are queued with the same split and candidates unless the dataset has
a run of them measured that way already (finished, queued or running), and the Evaluate and
Shopper pages can then say which wins (`recdash.runs_view.verdict`).
"""

from __future__ import annotations

import json

from recdash.runs.spec import RunSpec
from recdash.workspace import Workspace

FOR_SHOPPERS = ("pop", "ease")
FOR_SESSIONS = ("pop", "rules", "sknn")


def companions(ws: Workspace, spec: RunSpec) -> list[RunSpec]:
    """The baseline specs to queue beside `spec` (none unless it is a headline model's)."""
    from recdash.runs import jobs

    if not spec.kind.headline:
        return []
    stats = ws.dataset_report(spec.dataset).stats
    names = FOR_SESSIONS if stats.get("sequences") == "sessions" else FOR_SHOPPERS
    have = set()
    for _, row in ws.runs(spec.dataset).iterrows():
        if row["status"] in ("finished", "running"):
            have.add(_key(json.loads(row["params"]).get("spec", {})))
    queue = jobs.status(ws)
    for _, job in queue[queue["status"].isin(("queued", "running"))].iterrows():
        have.add(_key(jobs.get(ws, job["id"]).spec.to_dict()))
    out = []
    for name in names:
        twin = RunSpec(spec.dataset, name, split=spec.split, ks=spec.ks,
                       exclude_seen=spec.exclude_seen, candidates=spec.candidates,
                       kcore=spec.kcore)
        if _key(twin.to_dict()) not in have:
            out.append(twin)
    return out


def _key(spec: dict) -> tuple:
    """What makes two runs comparable: the model and how it is measured."""
    return (spec.get("model"), spec.get("split"), tuple(spec.get("ks", ())),
            spec.get("exclude_seen"), spec.get("candidates"), spec.get("kcore"))
