"""The `recdash` command line: import data, list datasets, evaluate baselines.

Every subcommand prints a readable result, or with --json one JSON document on stdout; progress
bars go to stderr. Bad input exits with status 1 and the validation errors; wrong usage with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from recdash.data import schema as S
from recdash.errors import RecdashError

EXIT_INVALID = 1


class _Bar:
    """Progress on stderr, driven by the library's progress callback(fraction, message): a tqdm
    bar on a terminal; in a log file or a pipe, one plain line every LOG_EVERY_S seconds (and
    the last), so that a long run's log stays readable."""

    LOG_EVERY_S = 10.0

    def __init__(self, desc: str, enabled: bool = True) -> None:
        self.desc, self.enabled = desc, enabled
        self.tty = sys.stderr.isatty()
        self.start, self.last = time.monotonic(), float("-inf")  # the first call prints
        self.line = ""
        self.bar = tqdm(total=1000, desc=desc, file=sys.stderr, disable=not (enabled and self.tty),
                        bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            self.bar.n = int(1000 * fraction)
            self.bar.set_postfix_str(message[:60], refresh=True)
            return
        now = time.monotonic()
        self.line = f"{self.desc}: {fraction:4.0%} after {now - self.start:.0f} s, {message}"
        if self.enabled and now - self.last >= self.LOG_EVERY_S:
            print(self.line, file=sys.stderr, flush=True)
            self.last, self.line = now, ""

    def close(self) -> None:
        self.bar.close()
        if self.enabled and self.line:  # the last word, unless it was just printed
            print(self.line, file=sys.stderr, flush=True)


def _pairs(values: Sequence[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for v in values or []:
        if "=" not in v:
            raise RecdashError(f"{flag} takes FIELD=COLUMN pairs such as {flag} user_id=visitorid;"
                               f" got {v!r}")
        key, val = v.split("=", 1)
        out[key.strip()] = val.strip()
    return out


def _emit(args: argparse.Namespace, payload: dict, text: str) -> None:
    print(json.dumps(payload, default=str) if args.json else text)


def _workspace(args: argparse.Namespace):
    from recdash.workspace import Workspace

    return Workspace(args.workspace)


def cmd_demo(args: argparse.Namespace) -> int:
    from recdash.data.dataset import prepare_dataset
    from recdash.data.demo import generate_demo_shop

    ws = _workspace(args)
    bar = _Bar("demo shop", not args.json)
    events, catalog = generate_demo_shop(scale=args.scale, seed=args.seed, progress=bar)
    bar.close()
    ds, report = prepare_dataset(args.name, events, catalog, interactions_name="demo-events.csv",
                                 catalog_name="demo-catalog.csv")
    if ds is None:
        _emit(args, {"ok": False, "report": report.to_dict()}, report.format())
        return EXIT_INVALID
    ws.save_dataset(ds, source=f"demo shop (scale {args.scale}, seed {args.seed})",
                    overwrite=args.replace)
    _emit(args, {"ok": True, "dataset": args.name, "report": report.to_dict()},
          report.format() + f"\nStored as '{args.name}' in {ws.root}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from recdash.data.dataset import prepare_dataset, prepare_public
    from recdash.privacy import for_storage
    from recdash.workspace import check_name

    ws = _workspace(args)
    if not (args.public or args.interactions):
        raise RecdashError("give --interactions FILE (and --catalog FILE), or --public FOLDER")
    # One import of a name at a time: a second one is refused at once (LockBusy).
    with ws.dataset_lock(check_name(args.name)):
        if ws.has_dataset(args.name) and not args.replace:
            raise RecdashError(f"a dataset named '{args.name}' exists; give --replace to "
                               "replace it, or another --name")
        if args.public:
            ds, report = prepare_public(args.name, args.public, args.layout, kcore=args.kcore,
                                        session_gap=args.session_gap)
        else:
            mapping = S.ColumnMapping(_pairs(args.map, "--map"),
                                      _pairs(args.catalog_map, "--catalog-map"),
                                      _pairs(args.event, "--event"))
            ds, report = prepare_dataset(args.name, args.interactions, args.catalog,
                                         mapping=mapping, encoding=args.encoding,
                                         kcore=args.kcore, default_event=args.default_event,
                                         time_format=args.time_format,
                                         session_gap=args.session_gap)
        if ds is None:
            _emit(args, {"ok": False, "report": report.to_dict()}, report.format())
            return EXIT_INVALID
        ds = for_storage(ws, ds, args.pseudonymise)
        report = ds.report
        ws.save_dataset(ds, source=str(args.public or args.interactions),
                        overwrite=args.replace)
    _emit(args, {"ok": True, "dataset": args.name, "report": report.to_dict()},
          report.format() + f"\nStored as '{args.name}' in {ws.root}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from recdash.privacy import forget_shopper

    done = forget_shopper(_workspace(args), args.data, args.user)
    _emit(args, {"ok": True, **done},
          f"Deleted {done['dataset_events']:,} event(s) of shopper {done['user']} from "
          f"'{args.data}' and {done['logged_events']:,} from its event log" +
          ("" if done["compacted"] else "; the workspace's files were busy, so deleted rows may "
           "linger in free space until the next `recdash forget`"))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    if args.delete:
        ws.delete_dataset(args.delete)
        _emit(args, {"deleted": args.delete}, f"Deleted '{args.delete}'")
        return 0
    if args.report:
        report = ws.load_dataset(args.report).report
        _emit(args, report.to_dict(), report.format())
        return 0
    infos = ws.datasets()
    rows = [{"name": d.name, **{k: d.stats.get(k) for k in ("users", "catalog_items", "events")},
             "source": d.source} for d in infos]
    text = "\n".join(f"{r['name']:<20} {r['users'] or 0:>9,} users {r['catalog_items'] or 0:>9,}"
                     f" items {r['events'] or 0:>11,} events  {r['source']}" for r in rows)
    _emit(args, {"datasets": rows}, text or f"No datasets in {ws.root} yet: try `recdash demo`")
    return 0


def _settings(args: argparse.Namespace) -> dict:
    names = ("epochs", "max_len", "dim", "n_layers", "n_heads", "batch_size", "lr", "loss",
             "n_negatives", "max_minutes", "patience", "seed", "valid_users", "dropout",
             "score_scale", "weight_decay", "recency_positions", "lr_schedule",
             "repeat_bonus")
    out = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if getattr(args, "no_text", False):
        out["text"] = False
    if getattr(args, "no_tune", False):
        out["tune"] = False
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from recdash.runs.spec import RunSpec
    from recdash.runs.train import resumable, run_evaluation

    ws = _workspace(args)
    resume = getattr(args, "resume", None)
    if resume:
        given = [f"--{k.replace('_', '-')}" for k in _settings(args)] + (
            ["--data"] if args.data else [])
        if given:
            raise RecdashError(f"--resume continues run {resume} with its own settings; drop "
                               f"{', '.join(given)} (or train a new run)")
        spec = resumable(ws, resume)
    elif not args.data:
        raise RecdashError("give --data NAME (the dataset to train on), or --resume RUN")
    else:
        if args.data == "demo":
            ws.ensure_demo()
        split, keep_seen = _protocol_defaults(ws, args)
        spec = RunSpec.build(args.data, args.model, _settings(args), split=split,
                             ks=tuple(args.k), exclude_seen=not keep_seen,
                             candidates=args.candidates, kcore=args.kcore,
                             device=getattr(args, "device", "auto"))
    if getattr(args, "pairs", None):
        return _evaluate_pairs(args, ws, spec)
    # Progress goes to stderr, with --json too: a long run is never silent.
    bar = _Bar(f"{spec.model} on {spec.dataset}" + (f" (resuming {resume})" if resume else ""))
    try:
        run_id, result = run_evaluation(ws, spec, progress=bar, run_id=resume)
    finally:
        bar.close()
    if result is None:  # a refit (no metrics), or a helper process under torchrun
        return _refitted(args, run_id, spec) if spec.refit_of and run_id else 0
    _emit(args, {"run": run_id, "model": spec.model, "dataset": spec.dataset,
                 "resumed": bool(resume), **result.to_dict()},
          f"Run {run_id}: {spec.model} on {spec.dataset}" + (" (resumed)" if resume else "") +
          "\n" + result.format())
    return 0


def _protocol_defaults(ws, args: argparse.Namespace) -> tuple[str, bool]:
    """--split and --keep-seen as given, or the dataset's defaults (said on stderr)."""
    if args.split is not None and args.keep_seen is not None or getattr(args, "pairs", None):
        return args.split or "loo", bool(args.keep_seen)
    from recdash.runs.defaults import protocol_defaults
    from recdash.runs.spec import RunSpec, check_submission

    check_submission(ws, RunSpec(args.data, "pop"))
    chosen = protocol_defaults(ws.dataset_report(args.data).stats)
    split = args.split or chosen.split
    keep = args.keep_seen if args.keep_seen is not None else not chosen.exclude_seen
    print(f"recdash: {split} split, seen items {'kept' if keep else 'excluded'} ({chosen.why}; "
          "set --split and --keep-seen/--exclude-seen to choose)", file=sys.stderr)
    return split, keep


def _evaluate_pairs(args: argparse.Namespace, ws, spec) -> int:
    from recdash.runs.train import run_pairs

    bar = _Bar(f"{spec.model} on {spec.dataset}, pairs of {Path(args.pairs).name}", True)
    try:  # progress goes to stderr, with --json too
        run_id, metrics, protocol = run_pairs(ws, spec, args.pairs, progress=bar)
    finally:
        bar.close()
    lines = [f"Run {run_id}: {spec.model} on {spec.dataset}", f"Protocol: {protocol.label()}"]
    lines += [f"  {name:<8} {value:.4f}" for name, value in metrics.items()
              if "@" in name]
    lines.append(f"  {int(metrics['unknown_targets']):,} of {int(metrics['pairs']):,} next "
                 "items never occur in training (counted as misses)")
    lines.append(f"  {metrics['repeat_share']:.1%} of the next items repeat an item of their "
                 "prefix (kept as candidates)")
    _emit(args, {"run": run_id, "model": spec.model, "dataset": spec.dataset,
                 "protocol": protocol.to_dict(), "metrics": metrics}, "\n".join(lines))
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from recdash.runs.train import refit_spec, run_evaluation

    ws = _workspace(args)
    spec = refit_spec(ws, args.run)
    if args.device:
        spec = replace(spec, device=args.device, config=spec.config)
    bar = _Bar(f"refit of {args.run} on every event of {spec.dataset}")
    try:  # progress goes to stderr, with --json too
        run_id, _ = run_evaluation(ws, spec, progress=bar)
    finally:
        bar.close()
    return _refitted(args, run_id, spec)


def _refitted(args: argparse.Namespace, run_id: str, spec) -> int:
    _emit(args, {"run": run_id, "model": spec.model, "dataset": spec.dataset,
                 "refit_of": spec.refit_of},
          f"Run {run_id}: {spec.model} on {spec.dataset}, refit on every event of run "
          f"{spec.refit_of}, whose figures measure it (nothing is held out of this one)")
    return 0


def _rerank_step(ws, service, preset: str, k: int) -> tuple:
    """The (re-ranking, candidates) step of a stored diversity preset for a loaded run."""
    from dataclasses import replace

    from recdash.rerank.presets import get_preset
    from recdash.rerank.run import reranker, run_context
    from recdash.rerank.setting import adapt

    setting = replace(get_preset(ws, preset), k=k)
    rc = run_context(service, ws)
    note = adapt(setting, rc.items)[1]
    if note:
        print(f"recdash: preset '{preset}': {note}", file=sys.stderr)
    return reranker(setting, rc)


def cmd_recommend(args: argparse.Namespace) -> int:
    from recdash.runs.load import load_run

    ws = _workspace(args)
    service = load_run(ws, args.run, device=args.device)
    rerank = _rerank_step(ws, service, args.rerank, args.k) if args.rerank else None
    recs = service.recommend_users([args.user], args.k, rerank=rerank)
    known = service.knows(args.user)
    note = "" if known else " (unknown user: most popular items)"
    def name(r) -> str:
        return r["title"] if isinstance(r["title"], str) else r[S.ITEM]

    lines = [f"Top {args.k} for {args.user}{note} from run {args.run}:"] + [
        f"{r['rank']:>3}. {r['score']:9.4f}  {name(r)}  [{r[S.ITEM]}]" for _, r in recs.iterrows()]
    _emit(args, {"run": args.run, "user": args.user, "known_user": known,
                 "recommendations": recs.to_dict("records")}, "\n".join(lines))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from recdash.search import Filters, SearchSettings
    from recdash.search.api import open_searcher, search_as

    ws = _workspace(args)
    bar = _Bar(f"search index of {args.data}")  # stderr, with --json too
    try:
        opened = open_searcher(ws, args.data, args.run, personalise=not args.anonymous,
                               device=args.device, progress=bar)
    finally:
        bar.close()
    rerank = None
    if args.rerank:
        if opened.searcher.service is None:
            raise RecdashError("--rerank needs a trained run on this dataset; train one or "
                               "leave --rerank out")
        rerank = _rerank_step(ws, opened.searcher.service, args.rerank, args.k)
    settings = SearchSettings(lexical_weight=args.lexical_weight, personal=args.personal)
    filters = Filters(args.category, tuple(args.brand or ()), (args.min_price, args.max_price))
    result = search_as(opened.searcher, args.query, None if args.anonymous else args.user,
                       k=args.k, settings=settings, filters=filters, rerank=rerank)
    frame = result.frame.drop(columns=["highlighted"])
    frame = frame.astype(object).where(frame.notna(), None)  # JSON has no NaN
    who = "anonymous" if args.user is None or args.anonymous else f"shopper {args.user}"
    run = f" personalised by run {opened.run_id}" if result.personalised else ""
    lines = [f"{len(frame)} results for {result.query!r} as {who}{run} "
             f"({1000 * result.seconds:.0f} ms):"]
    lines += [f"  note: {n}" for n in result.notes]
    for _, r in result.frame.iterrows():
        title = r["title"] if isinstance(r["title"], str) else r[S.ITEM]
        matched = f"  matched: {', '.join(r['matched'])}" if r["matched"] else ""
        lines.append(f"{r['rank']:>3}. {r['score']:.3f}  {title}  [{r[S.ITEM]}]{matched}")
    _emit(args, {"dataset": args.data, "query": result.query, "user": args.user,
                 "run": opened.run_id if result.personalised else None,
                 "personalised": result.personalised, "terms": result.terms,
                 "corrections": result.corrections, "notes": result.notes,
                 "seconds": result.seconds, "results": frame.to_dict("records"),
                 "facets": {k: v.to_dict("records") for k, v in result.facets.items()}},
          "\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from recdash import runs_view

    ws = _workspace(args)
    data = runs_view.export_recommendations(ws, args.run, args.format, args.k,
                                            preset=args.rerank)
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    _emit(args, {"run": args.run, "file": str(out), "bytes": len(data), "preset": args.rerank},
          f"Wrote {out} ({len(data):,} bytes)" + (f", re-ranked with '{args.rerank}'"
                                                 if args.rerank else ""))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    runs = _workspace(args).runs(args.data)
    cols = ["id", "dataset", "model", "status", "message"]
    _emit(args, {"runs": runs[cols].to_dict("records")},
          runs[cols].to_string(index=False) if len(runs) else "No runs yet.")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from recdash.text import embed_catalog

    ws = _workspace(args)
    ds = ws.load_dataset(args.data)
    bar = _Bar(f"text embeddings of {args.data}", not args.json)
    try:
        _, stats = embed_catalog(ds.catalog, ws.dataset_dir(args.data) / "text-cache",
                                 progress=bar)
    finally:
        bar.close()
    _emit(args, {"dataset": args.data, **stats},
          f"{stats['items']:,} items: {stats['encoded']:,} encoded, {stats['cached']:,} cached "
          f"(in {ws.dataset_dir(args.data) / 'text-cache'})")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from recdash.runs import jobs

    ws = _workspace(args)
    if args.cancel:
        job = jobs.cancel(ws, args.cancel)
        note = {"running": "stopping at its next training step"}.get(job.status, job.status)
        _emit(args, {"job": job.id, "status": job.status}, f"Job {job.id}: {note}")
        return 0
    jobs.refresh(ws)
    table = jobs.status(ws)
    cols = ["id", "status", "device", "dataset", "model", "fraction", "run_id", "message"]
    text = table[cols].assign(fraction=table["fraction"].map("{:.0%}".format),
                              run_id=table["run_id"].fillna("")).to_string(index=False)
    records = table.astype(object).where(table.notna(), None).to_dict("records")  # NaN: null
    _emit(args, {"jobs": records}, text if len(table) else "No jobs yet.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from recdash.runs.registry import MODELS
    from recdash.search.settings import SearchSettings

    SEARCH_DEFAULTS = SearchSettings()
    parser = argparse.ArgumentParser(prog="recdash", description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", help="workspace folder (default: $RECDASH_WORKSPACE or "
                        "./workspace)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print one JSON document")
        return p

    p = add("demo", "generate the demo shop and store it")
    p.add_argument("--name", default="demo")
    p.add_argument("--scale", type=float, default=1.0, help="1.0 = about 100k events")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replace", action="store_true", help="replace a dataset of that name")
    p.set_defaults(func=cmd_demo)

    p = add("import", "validate and store an interaction log and catalog")
    p.add_argument("--name", required=True, help="dataset name in the workspace")
    p.add_argument("--interactions", help="CSV/TSV(.gz)/Parquet/JSON-lines interaction log")
    p.add_argument("--catalog", help="product catalog file")
    p.add_argument("--public", help="a public dataset folder (MovieLens-1M, RecBole files) or "
                   "a 'user item item ...' sequence file")
    p.add_argument("--layout", choices=("movielens", "recbole", "sequence"),
                   help="layout of --public (detected when omitted)")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help="interaction column mapping, e.g. --map user_id=visitorid")
    p.add_argument("--catalog-map", action="append", metavar="FIELD=COLUMN")
    p.add_argument("--event", action="append", metavar="LABEL=TYPE",
                   help="map a shop's event label, e.g. --event addtocart=cart")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--time-format", metavar="FORMAT",
                   help="how timestamps are written when detection cannot tell: month-first "
                        "(10/30/2011), day-first (30/10/2011), iso8601, epoch-s, epoch-ms, or a "
                        "strptime pattern such as '%%m/%%d/%%Y %%H:%%M' (default: detected)")
    p.add_argument("--session-gap", type=float, nargs="?", const=30.0, metavar="MINUTES",
                   help="cut each shopper's events into sessions at this many minutes without "
                        "an event (default when given alone: 30); a log keyed by a session "
                        "column is read as sessions without it")
    p.add_argument("--default-event", choices=S.EVENT_TYPES, metavar="TYPE",
                   help="what every row is when the log has no event-type column: view, cart "
                        "or purchase (e.g. purchase for an order export; default: view)")
    p.add_argument("--kcore", type=int, default=0, help="keep users/items with >= K events")
    p.add_argument("--replace", action="store_true", help="replace a dataset of that name")
    p.add_argument("--pseudonymise", action="store_true",
                   help="store a keyed hash of each shopper ID instead of the ID (the key is "
                        "kept in the workspace's secrets/ folder)")
    p.set_defaults(func=cmd_import)

    p = add("forget", "delete every event of one shopper (on request): from the dataset and "
            "its live event log")
    p.add_argument("--data", required=True, help="the dataset")
    p.add_argument("--user", required=True, help="the shopper's ID as the shop knows it (or "
                   "its pseudonym, p_...)")
    p.set_defaults(func=cmd_forget)

    p = add("datasets", "list, inspect or delete stored datasets")
    p.add_argument("--delete", metavar="NAME")
    p.add_argument("--report", metavar="NAME", help="print a dataset's validation report")
    p.set_defaults(func=cmd_datasets)

    for name, help_ in (("evaluate", "fit a model and report full-ranking metrics"),
                        ("train", "train a model (e.g. the attention ranker) and evaluate it")):
        p = add(name, help_)
        p.add_argument("--data", required=name == "evaluate",
                       help="dataset name ('demo' = the demo shop)")
        p.add_argument("--model", required=name == "evaluate", default="attention",
                       choices=list(MODELS))
        p.add_argument("--split", choices=("loo", "temporal", "sessions"),
                       help="default: sessions for a log of sessions with timestamps, else loo")
        p.add_argument("--k", type=int, nargs="+", default=[10, 20, 50])
        seen = p.add_mutually_exclusive_group()
        seen.add_argument("--keep-seen", action="store_true", default=None,
                          help="keep history items as candidates (default for session logs "
                               "and logs where 10%% or more of the last events return to a seen item)")
        seen.add_argument("--exclude-seen", dest="keep_seen", action="store_false", default=None,
                          help="leave history items out of the rankings")
        p.add_argument("--candidates", choices=("catalog", "interacted"), default="catalog")
        p.add_argument("--kcore", type=int, default=0)
        p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
        p.add_argument("--pairs", metavar="FILE", help="score given (prefix, next item) pairs "
                       "instead of a split: a TSV with prefix (space-separated item IDs), "
                       "next_item and optionally session_id (those sessions are kept out of "
                       "training); full ranking, repeats allowed, P/MRR/NDCG@k")
        p.set_defaults(func=cmd_evaluate)
    g = p.add_argument_group("attention ranker settings (defaults: AttentionConfig/TrainConfig)")
    for flag, typ in (("--epochs", int), ("--max-len", int), ("--dim", int), ("--n-layers", int),
                      ("--n-heads", int), ("--batch-size", int), ("--lr", float),
                      ("--n-negatives", int), ("--max-minutes", float), ("--patience", int),
                      ("--seed", int), ("--valid-users", int), ("--dropout", float),
                      ("--score-scale", float), ("--weight-decay", float)):
        g.add_argument(flag, type=typ)
    g.add_argument("--loss", choices=("auto", "full", "sampled"),
                   help="softmax over the whole catalog, sampled, or auto (the default: full up "
                        "to 10,000 items on a CPU and 100,000 on a GPU, sampled above)")
    g.add_argument("--lr-schedule", choices=("constant", "linear"),
                   help="keep the learning rate, or decay it linearly to 0 by the last epoch")
    g.add_argument("--no-text", action="store_true", help="train without the text tower")
    g.add_argument("--no-tune", action="store_true", help="train the given settings only (by "
                   "default a log of 2,000 to 100,000 training events also tries a higher "
                   "dropout, a higher learning rate at half the width and a history of 20, "
                   "sharing half of --max-minutes, and the best on validation trains on for "
                   "the rest)")
    g.add_argument("--recency-positions", action="store_true", default=None,
                   help="number positions from the newest event (see AttentionConfig)")
    g.add_argument("--repeat-bonus", choices=("auto", "on", "off"),
                   help="a learned score for items already in the history, by how recently "
                        "they were seen (auto, the default: on where at least 5%% of the "
                        "training events return to an item of their sequence)")
    p.add_argument("--resume", metavar="RUN", help="continue a killed or cancelled run from its "
                   "last checkpoint, with its own settings (see `recdash runs`)")

    p = add("refit", "train a finished run's settings again on every event, held-out ones "
                     "included, for use (the studio, exports, the API)")
    p.add_argument("run", help="the measured run (see `recdash runs`)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"),
                   help="default: the run's own device setting")
    p.set_defaults(func=cmd_refit)

    p = add("recommend", "top-k recommendations of a trained run for a user")
    p.add_argument("--run", required=True, help="run id (see `recdash runs`)")
    p.add_argument("--user", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.add_argument("--rerank", metavar="PRESET", help="re-rank with a stored diversity preset "
                   "(saved on the studio's Diversity page)")
    p.set_defaults(func=cmd_recommend)

    p = add("search", "search the catalog, as a shopper or anonymously (BM25 + semantic, "
            "personalised by a run)")
    p.add_argument("--data", required=True, help="the dataset whose catalog is searched")
    p.add_argument("--query", required=True, help="what the shopper types")
    p.add_argument("--user", help="search as this stored shopper (default: anonymous)")
    p.add_argument("--anonymous", action="store_true",
                   help="ignore every run and shopper: the query alone")
    p.add_argument("--run", help="the run that personalises (default: the dataset's best run "
                   "on validation)")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--personal", type=float, default=SEARCH_DEFAULTS.personal,
                   help="the shopper's share of the score, 0 to 1 (default %(default)s)")
    p.add_argument("--lexical-weight", type=float, default=SEARCH_DEFAULTS.lexical_weight,
                   help="BM25's share of the query relevance against semantic, 0 to 1 "
                   "(default %(default)s)")
    p.add_argument("--category", help="keep this category (and its subcategories)")
    p.add_argument("--brand", action="append", help="keep this brand (repeatable)")
    p.add_argument("--min-price", type=float)
    p.add_argument("--max-price", type=float)
    p.add_argument("--rerank", metavar="PRESET", help="apply a stored diversity preset")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    p.set_defaults(func=cmd_search)

    p = add("export", "every user's top-k of a run as a CSV or Parquet file")
    p.add_argument("--run", required=True, help="run id (see `recdash runs`)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--format", default="csv", choices=("csv", "xlsx", "parquet"),
                   help="csv and xlsx neutralise text a spreadsheet would run as a formula")
    p.add_argument("--out", required=True, help="the file to write (replaced atomically)")
    p.add_argument("--rerank", metavar="PRESET", help="apply a stored diversity preset")
    p.set_defaults(func=cmd_export)

    p = add("runs", "list training/evaluation runs")
    p.add_argument("--data", help="only runs on this dataset")
    p.set_defaults(func=cmd_runs)

    p = add("embed", "compute the catalog's text embeddings ahead of training (CPU host)")
    p.add_argument("--data", required=True)
    p.set_defaults(func=cmd_embed)

    p = add("jobs", "list background training jobs (the studio's Train page starts them)")
    p.add_argument("--cancel", metavar="JOB_ID", help="cancel a queued or running job")
    p.set_defaults(func=cmd_jobs)

    from recdash.serve.cli import add_commands

    add_commands(add)  # serve, keys
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RecdashError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": str(exc)}))
        print(f"recdash: error: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
