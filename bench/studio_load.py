"""Load test of the studio's Shopper page: N browser sessions at once on one `streamlit run app.py`
on 127.0.0.1, each on another shopper of the demo shop, with the Train page's quick attention
model (trained here first, not timed). One headless Chromium (Debian's), N contexts, playwright.

First one session loads the page and edits once (reported apart: the first runs import torch and
fill the server-wide caches). Then for N in --sessions, two scenarios, each with N fresh sessions
on shoppers no session has opened before:
- spread: each session makes one edit at a random moment within --spread-seconds (seeded);
- burst: every session clicks at the same moment (all typed first, then N mouse clicks at once).
An edit is what an analyst does: type a few letters into "Find a product by title" and at once
click "Add to the history" (the button held --hold-ms, as a person's click), without waiting for
the rerun the search starts on losing focus (a click swallowed by that rerun is the bug this
guards against). The letters are the first two words of the title of the session's first
recommendation (its ID where those find another product first): adding that product takes it
off the list, so a kept edit shows.
Measured:
- page load: from navigation to the Recommendations table drawn and Streamlit idle, p50/p95;
- edit to updated list: from the click (performance.now() in the page, checked every animation
  frame) to the table's content differing from before and the history caption stating one more
  event, p50/p95;
- lost edits: no such update within --edit-timeout seconds, or while the page sat idle for
  --quiet-seconds (one updating later is counted apart as late); errors: exception elements,
  page errors, timeouts;
- server CPU per rerun: utime+stime of the server and its children that are not training jobs
  (/proc), before and after the scenario, divided by the script runs it served, counted from the
  sessions' websocket messages (each run ends with a script_finished message); the share of the
  script runs' threads and of the event loop's is recorded beside it.
The browser shares the machine with the server: the rest of the machine's CPU time (the browser's
mostly, and whatever else runs) is recorded beside the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, markdown_table, reproduce_command, write_json  # noqa: E402
from recdash import shopper  # noqa: E402
from recdash.data import schema as S  # noqa: E402
from recdash.runs.demo import FIRST_START_ENV, QUICK_SETTINGS, quick_spec  # noqa: E402
from recdash.runs.train import run_evaluation  # noqa: E402
from recdash.workspace import Workspace  # noqa: E402
from tests.browser.harness import (ADD_EVENT, CHROMIUM, CHROMIUM_FLAGS, HISTORY,  # noqa: E402
                                   EXCEPTION, IDLE, PRODUCT_SEARCH, RECOMMENDATIONS, SHOPPER_BOX,
                                   SHOPPER_PATH, SHOPPER_QUERY, SHOPPER_SEARCH,
                                   SHOPPER_STATE_JS, WATCH_EDIT_JS, Studio, missing_browser)

# Every selector is in tests/browser/harness.py (SHOPPER_*, PRODUCT_SEARCH, ADD_EVENT, ...).
VIEWPORT = {"width": 1400, "height": 1600}
SETTLE_MS = 150  # wait_idle's check that no new run starts; not part of the page's time
LOAD_TIMEOUT_S = 180  # one page load, however many sessions load at once
MAX_LOAD = 0.5  # 1-minute load average above which the figures mean little
CLK = os.sysconf("SC_CLK_TCK")
RERUNS_NOTE = ("reruns: the script runs (full, fragment, and cut short for a rerun) that the "
               "sessions' websockets saw finish; 'est.' where none was seen: 1 per page load, "
               "1 per shopper typed in, 2 per edit")
JOB = b"jobs\x00run\x00"  # in the command line of a training job (python -m recdash...jobs run)


# CPU time from /proc -------------------------------------------------------------------------
def _stat(path: Path) -> tuple[str, list[str]]:
    """(comm, the fields after it) of a /proc stat file; comm may hold spaces."""
    text = path.read_text()
    return text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()


def _cpu_s(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def descendants(pid: int) -> list[int]:
    """The live processes below `pid`."""
    parents: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents.setdefault(int(_stat(proc / "stat")[1][1]), []).append(int(proc.name))
            except (OSError, ValueError):
                continue  # it ended meanwhile
    found, todo = [], [pid]
    while todo:
        found += (kids := parents.get(todo.pop(), []))
        todo += kids
    return found


def process_cpu_s(pid: int) -> float:
    """CPU seconds of process `pid` (all its threads, ended ones too); 0 once it has ended."""
    try:
        return _cpu_s(_stat(Path(f"/proc/{pid}/stat"))[1])
    except OSError:
        return 0.0


def tree_cpu_s(pid: int, skip: bytes) -> float:
    """CPU seconds of `pid` and its live descendants, leaving out those whose command line
    holds `skip` (the server's training jobs)."""
    total = process_cpu_s(pid)
    for child in descendants(pid):
        try:
            if skip not in Path(f"/proc/{child}/cmdline").read_bytes():
                total += process_cpu_s(child)
        except OSError:
            continue  # it ended meanwhile
    return total


def thread_cpu_s(pid: int) -> Counter:
    """CPU seconds per live thread of process `pid`, by name (the main thread runs the event
    loop: websocket reads and writes; a script run's thread ends with the run)."""
    out: Counter = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm, fields = _stat(task / "stat")
        except OSError:
            continue
        out["main (event loop)" if task.name == str(pid) else comm] += _cpu_s(fields)
    return out


def machine_busy_s() -> float:
    """CPU seconds the machine spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _wait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n")[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK


class CpuMeter:
    """CPU seconds between `__init__` and `read()`: the server (and its children that are not
    training jobs), its threads, and the whole machine."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = self._now()

    def _now(self) -> dict:
        return {"tree": tree_cpu_s(self.pid, JOB), "process": process_cpu_s(self.pid),
                "threads": thread_cpu_s(self.pid), "machine": machine_busy_s()}

    def read(self) -> dict:
        end, start = self._now(), self.start
        threads = {k: v - start["threads"].get(k, 0) for k, v in end["threads"].items()}
        threads = {k: round(v, 2) for k, v in threads.items() if v > 0.005}
        process = end["process"] - start["process"]
        # Threads that ended (one per script run) leave their time in the process's total only.
        threads["script runs (threads that ended)"] = round(process - sum(threads.values()), 2)
        server = end["tree"] - start["tree"]
        return {"server_cpu_s": server, "server_threads_cpu_s": threads,
                "server_children_cpu_s": server - process,
                "rest_of_machine_cpu_s": end["machine"] - start["machine"] - server}


# One browser session ------------------------------------------------------------------------
class Session:
    """A browser context on the Shopper page, counting the script runs its websocket reports."""

    def __init__(self, page, user: str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.page, self.user, self.runs, self.problems = page, user, Counter(), []
        self.typed = False  # the shopper was chosen by typing the ID (one more run)
        self._decode = ForwardMsg.FromString
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = self._decode(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.runs["started"] += 1
        elif kind == "script_finished":
            self.runs[msg.ScriptFinishedStatus.Name(msg.script_finished)] += 1

    async def state(self) -> dict:
        return await self.page.evaluate(SHOPPER_STATE_JS, [RECOMMENDATIONS, HISTORY])

    async def wait_idle(self, timeout_s: float) -> None:
        """As harness.wait_idle: the run has ended and no new one starts within SETTLE_MS."""
        deadline = time.monotonic() + timeout_s
        while True:
            await self.page.wait_for_selector(
                IDLE, timeout=max(deadline - time.monotonic(), 0.1) * 1000)
            await self.page.wait_for_timeout(SETTLE_MS)
            if await self.page.query_selector(IDLE) is not None:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the page kept running")

    async def load(self, url: str, timeout_s: float) -> float:
        """Open the page on this shopper; seconds to the list drawn and the run ended (the
        shopper is then chosen by typing the ID where ?user= is not understood, not timed)."""
        from playwright.async_api import expect

        start = time.perf_counter()
        await self.page.goto(f"{url}{SHOPPER_PATH}?{SHOPPER_QUERY}={self.user}",
                             timeout=timeout_s * 1000)
        await self.page.wait_for_function(f"(a) => ({SHOPPER_STATE_JS})(a).list",
                                          arg=[RECOMMENDATIONS, HISTORY],
                                          timeout=timeout_s * 1000)
        await self.wait_idle(timeout_s)
        seconds = time.perf_counter() - start - SETTLE_MS / 1000
        box = self.page.get_by_role("combobox", name=SHOPPER_BOX, exact=True)
        if await box.input_value() != self.user:
            self.typed = True
            search = self.page.get_by_label(SHOPPER_SEARCH, exact=True)
            await search.fill(self.user)
            await search.press("Enter")
            await expect(box).to_have_value(self.user, timeout=timeout_s * 1000)
            await self.wait_idle(timeout_s)
        return seconds

    async def prepare_edit(self, catalog, timeout_s: float, quiet_s: float
                           ) -> tuple[dict, tuple[float, float]]:
        """Arm the page's clock and type the search; returns the state before and where the
        click on "Add to the history" lands."""
        before = await self.page.evaluate(WATCH_EDIT_JS, {
            "button": ADD_EVENT, "list": RECOMMENDATIONS, "history": HISTORY,
            "timeoutMs": timeout_s * 1000, "quietMs": quiet_s * 1000})
        button = self.page.get_by_role("button", name=ADD_EVENT)
        await button.scroll_into_view_if_needed()
        box = await button.bounding_box()
        await self.page.get_by_label(PRODUCT_SEARCH, exact=True).press_sequentially(
            search_for(catalog, before["items"]))
        return before, (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    async def result(self, before: dict, timeout_s: float) -> dict:
        """The armed clock's result; a lost edit that shows after all is marked late."""
        await self.page.wait_for_function("() => window.__recdashEdit !== undefined",
                                          timeout=(timeout_s + 10) * 1000)
        result = await self.page.evaluate("window.__recdashEdit")
        if result["lost"]:
            await self.wait_idle(timeout_s)
            now = await self.state()
            result["late"] = (now["list"] != before["list"]
                              and now["history"] == before["history"] + 1)
        return result


def search_for(catalog, items: list[str]) -> str:
    """A few letters that find the first of `items` first: the first two words of its title
    (its ID when those find another product first)."""
    if not items:
        return "a"
    title = catalog.loc[catalog[S.ITEM] == items[0], S.TITLE]
    query = " ".join(str(title.iloc[0]).split()[:2]) if len(title) else items[0]
    first = shopper.search_products(catalog, query)[S.ITEM]
    return query if len(first) and first.iloc[0] == items[0] else items[0]


def outcome(result: dict) -> dict:
    """An edit's result without the page's text: times, lost or not, and what had changed when
    the watch ended (the caption's count, whether the list differed)."""
    out = {k: v for k, v in result.items() if k not in ("before", "after")}
    before, after = result["before"], result["after"]
    out.update(history_before=before["history"], history_after=after["history"],
               list_changed=after["list"] != before["list"], exceptions=after["exceptions"])
    return out


# One scenario --------------------------------------------------------------------------------
async def edit_at(session: Session, catalog, delay_s: float, args) -> dict:
    """Wait `delay_s`, then type the search and click at once; the edit's result."""
    await asyncio.sleep(delay_s)
    before, (x, y) = await session.prepare_edit(catalog, args.edit_timeout, args.quiet_seconds)
    await session.page.mouse.click(x, y, delay=args.hold_ms)
    return await session.result(before, args.edit_timeout)


async def burst(sessions: list[Session], catalog, args) -> list[dict]:
    """Every session types its search; then all the clicks go out together."""
    prepared = await asyncio.gather(*(s.prepare_edit(catalog, args.edit_timeout,
                                                     args.quiet_seconds) for s in sessions))
    await asyncio.gather(*(s.page.mouse.click(*spot, delay=args.hold_ms)
                           for s, (_, spot) in zip(sessions, prepared)))
    return await asyncio.gather(*(s.result(before, args.edit_timeout)
                                  for s, (before, _) in zip(sessions, prepared)))


async def edits_of(kind: str, sessions: list[Session], catalog, args) -> list:
    """The scenario's edits: results, or the exceptions that stopped them."""
    if kind == "spread":
        rng = random.Random(args.seed * 1000 + len(sessions))
        return await asyncio.gather(*(edit_at(s, catalog, rng.uniform(0, args.spread_seconds),
                                              args) for s in sessions), return_exceptions=True)
    try:
        return await burst(sessions, catalog, args)
    except Exception as exc:  # noqa: BLE001 - a failed burst is a figure, reported as an error
        return [exc]


async def scenario(browser, studio: Studio, users: list[str], kind: str, catalog, args) -> dict:
    """N fresh sessions load the page and edit; loads, edits, errors, CPU and runs."""
    meter = CpuMeter(studio.process.pid)
    contexts = [await browser.new_context(viewport=VIEWPORT) for _ in users]
    sessions = [Session(await c.new_page(), u) for c, u in zip(contexts, users)]
    out: dict = {"sessions": len(users), "scenario": kind}
    try:
        loads = await asyncio.gather(*(s.load(studio.url, LOAD_TIMEOUT_S) for s in sessions),
                                     return_exceptions=True)
        # The page loads' share and the edits' share of the server's time, apart: a load is a
        # new session's first (full) run, an edit a fragment rerun.
        load_cpu = meter.read()
        load_runs = sum((s.runs for s in sessions), Counter())
        edit_meter = CpuMeter(studio.process.pid)
        ready = [s for s, x in zip(sessions, loads) if isinstance(x, float)]
        edits = await edits_of(kind, ready, catalog, args)
        edit_cpu = edit_meter.read()
        edit_runs = sum((s.runs for s in sessions), Counter()) - load_runs
        drawn = [await s.page.locator(EXCEPTION).count() for s in sessions]
    finally:
        for c in contexts:
            await c.close()
    await asyncio.sleep(0.5)  # the server tears the closed sessions down: part of serving them
    done = [outcome(e) for e in edits if isinstance(e, dict)]
    out["load_s"] = [x for x in loads if isinstance(x, float)]
    out["edits"] = done
    out["edit_ms"] = [e["shown_ms"] for e in done if not e["lost"]]
    out["lost"] = sum(e["lost"] and not e.get("late") for e in done)
    out["late"] = sum(bool(e.get("late")) for e in done)
    out["errors"] = ([f"load: {x!r}"[:300] for x in loads if isinstance(x, BaseException)]
                     + [f"edit: {x!r}"[:300] for x in edits if isinstance(x, BaseException)]
                     + [p for s in sessions for p in s.problems]
                     + [f"{n} exception(s) drawn ({s.user})"
                        for s, n in zip(sessions, drawn) if n])
    runs = sum((s.runs for s in sessions), Counter())
    served = sum(v for k, v in runs.items() if k != "started")
    out["runs"] = dict(runs)

    def finished(c: Counter) -> int:
        return sum(v for k, v in c.items() if k != "started")

    out["load_phase"] = {"server_cpu_s": load_cpu["server_cpu_s"], "runs": finished(load_runs)}
    out["edit_phase"] = {"server_cpu_s": edit_cpu["server_cpu_s"], "runs": finished(edit_runs)}
    out["reruns_counted"] = bool(served)  # False: estimated, see RERUNS_NOTE
    out["reruns"] = served or (len(out["load_s"]) + sum(s.typed for s in sessions)
                               + 2 * len(done))
    return {**out, **meter.read()}


# The run ---------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear), None without values."""
    return float(np.percentile(values, q)) if values else None


def pick_users(ds, count: int, seed: int) -> list[str]:
    """`count` different shoppers with at least five events, in a seeded order."""
    sizes = ds.interactions[S.USER].value_counts()
    users = sorted(sizes[sizes >= 5].index.astype(str))
    return random.Random(seed).sample(users, count)


async def measure(studio: Studio, catalog, users: list[str], args, deadline: float) -> dict:
    """The warm-up session, then every scenario that fits before `deadline`."""
    from playwright.async_api import async_playwright

    results, skipped = [], []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        fresh = iter(users)  # every session opens a shopper no other session has: no warm caches
        first = Session(await (await browser.new_context(viewport=VIEWPORT)).new_page(),
                        next(fresh))
        # The first load and edit import torch and fill the server-wide caches (the model, the
        # dataset): reported apart.
        first_load = await first.load(studio.url, LOAD_TIMEOUT_S)
        first_edit = outcome(await edit_at(first, catalog, 0, args))
        await first.page.context.close()
        for n in args.sessions:
            for kind in ("spread", "burst"):
                need = (args.spread_seconds if kind == "spread" else 0) + args.edit_timeout + 30
                left = deadline - time.monotonic()
                if left < need:
                    skipped.append(f"{n} sessions, {kind}: {left:.0f} s left, needs ~{need:.0f}")
                    continue
                print(f"{n} sessions, {kind}...", file=sys.stderr, flush=True)
                try:
                    results.append(await asyncio.wait_for(
                        scenario(browser, studio, [next(fresh) for _ in range(n)], kind,
                                 catalog, args), left))
                except TimeoutError:
                    skipped.append(f"{n} sessions, {kind}: cut at --max-seconds")
        await browser.close()
    return {"first_load_after_start_s": first_load, "first_edit_after_start": first_edit,
            "scenarios": results, "skipped": skipped}


def summary_row(r: dict) -> list[str]:
    """One scenario's row of the table."""
    def fmt(v: float | None, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    per_run = r["server_cpu_s"] / r["reruns"] * 1000 if r["reruns"] else None
    return [str(r["sessions"]), r["scenario"], fmt(percentile(r["load_s"], 50)),
            fmt(percentile(r["load_s"], 95)), fmt(percentile(r["edit_ms"], 50), digits=0),
            fmt(percentile(r["edit_ms"], 95), digits=0),
            f"{r['lost']}/{len(r['edits'])}" + (f" ({r['late']} late)" if r["late"] else ""),
            str(len(r["errors"])),
            fmt(per_run, digits=0) + f" ({r['reruns']}{'' if r['reruns_counted'] else ' est.'})",
            _phase(r.get("load_phase")), _phase(r.get("edit_phase"))]


def _phase(p: dict | None) -> str:
    """A phase's server CPU per run: 'ms (runs)'."""
    if not p or not p["runs"]:
        return "-"
    return f"{p['server_cpu_s'] / p['runs'] * 1000:.0f} ({p['runs']})"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--spread-seconds", type=float, default=60)
    parser.add_argument("--edit-timeout", type=float, default=60)
    parser.add_argument("--quiet-seconds", type=float, default=15)
    parser.add_argument("--max-seconds", type=float, default=900, help="the whole run, training "
                        "included; scenarios that would not fit are skipped")
    parser.add_argument("--hold-ms", type=float, default=100,
                        help="how long a click holds the mouse button: the search's rerun starts "
                             "on mousedown, the click on mouseup")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="to try it out: sessions 1 2, 10 s spread, 30 s timeouts")
    parser.add_argument("--force", action="store_true", help="run on a busy machine")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.spread_seconds, args.edit_timeout = [1, 2], 10, 30
        args.quiet_seconds, args.max_seconds = 8, min(args.max_seconds, 420)
    return args


def check_load(force: bool) -> list[float]:
    """The load averages now; exits when the machine is busy, unless `force`."""
    load = [round(x, 2) for x in os.getloadavg()]
    if load[0] > MAX_LOAD:
        print(f"WARNING: the 1-minute load average is {load[0]:.2f} (> {MAX_LOAD}): the "
              "timings will measure the other work too.", file=sys.stderr)
        if not force:
            sys.exit("bench: refusing to run on a busy machine; wait, or pass --force")
    return load


def report(payload: dict) -> None:
    """Print the table and, per scenario, where the CPU time went and the first errors."""
    info = payload["machine"]
    print(f"Machine: {info['cpu']}, {info['cores_usable']} cores; load average before "
          f"{payload['load_average_before']}{' (forced)' if payload['forced'] else ''}; "
          "Chromium headless, one browser, a context per session; demo shop, quick attention "
          "model\n")
    print(markdown_table(["sessions", "scenario", "load p50 (s)", "load p95 (s)",
                          "edit p50 (ms)", "edit p95 (ms)", "lost", "errors",
                          "server CPU ms/rerun (reruns)", "of which page loads: ms/run",
                          "edits: ms/rerun"],
                         [summary_row(r) for r in payload["scenarios"]]))
    first = payload["first_edit_after_start"]
    print(f"\nFirst load after the server started: {payload['first_load_after_start_s']:.2f} s; "
          f"its first edit: " + ("lost" if first["lost"] else f"{first['shown_ms']:.0f} ms"))
    for r in payload["scenarios"]:
        print(f"{r['sessions']} {r['scenario']}: server {r['server_cpu_s']:.1f} s CPU "
              f"{r['server_threads_cpu_s']}; the rest of the machine (browser, bench, others) "
              f"{r['rest_of_machine_cpu_s']:.1f} s; runs {r['runs']}")
        lost = [e for e in r["edits"] if e["lost"] and not e.get("late")]
        grown = sum(e["history_after"] == e["history_before"] + 1 for e in lost)
        changed = sum(e["list_changed"] for e in lost)
        if lost:
            print(f"  lost edits: {len(lost)}; the caption had grown by one in {grown}, the list "
                  f"had changed in {changed}")
        for e in r["errors"][:5]:
            print(f"  error: {e}")
    for s in payload["skipped"]:
        print(f"skipped: {s}")
    print(f"\n{RERUNS_NOTE}")


def main() -> None:
    args = parse_args()
    deadline = time.monotonic() + args.max_seconds
    why = missing_browser()
    if why:
        sys.exit(f"bench: {why}")
    load = check_load(args.force)
    info = machine()  # before the training and the server start: the load they found
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.ensure_demo()
        run_evaluation(ws, quick_spec("demo"))
        ds = ws.load_dataset("demo")
        catalog = ds.catalog.drop_duplicates(S.ITEM).reset_index(drop=True)
        users = pick_users(ds, 1 + 2 * sum(args.sessions), args.seed)
        os.environ.setdefault(FIRST_START_ENV, "0")  # no background training while measured
        with Studio(ws.root, Path(tmp) / "streamlit.log") as studio:
            measured = asyncio.run(measure(studio, catalog, users, args, deadline))
    payload = {"command": reproduce_command(), "machine": info, "load_average_before": load,
               "forced": load[0] > MAX_LOAD, "model": {"name": "attention", **QUICK_SETTINGS},
               "settings": {k: v for k, v in vars(args).items() if k != "force"},
               "reruns_note": RERUNS_NOTE, **measured}
    write_json("studio_load.json", payload)
    report(payload)


if __name__ == "__main__":
    main()
