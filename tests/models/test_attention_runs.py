"""Training runs as users start them: killed and resumed, and on two processes (torchrun)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT

TRAIN = """
import sys
from recdash.models.attention import AttentionRanker, TrainConfig
from recdash.models.base import TrainData
from tests.models.test_attention import cyclic_data, small
ds, split = cyclic_data()
cfg = TrainConfig(epochs=6, batch_size=8, lr=5e-3, patience=99, device="cpu", seed=0,
                  checkpoint_minutes=float(sys.argv[2]), tune=False)
r = AttentionRanker(small(), cfg, run_dir=sys.argv[1]).fit(TrainData.from_split(split, ds.catalog))
print("SCORES", list(map(float, r.score([split.train()[0]])[0])))
print("EPOCHS", [h["epoch"] for h in r.result.history])
"""


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _train(run_dir, every="0", **kw):
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(run_dir), every], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def _parse(out: str, key: str):
    line = next(x for x in out.splitlines() if x.startswith(key))
    return json.loads(line.split(" ", 1)[1])


def test_a_run_killed_mid_epoch_resumes_to_the_same_model(tmp_path):
    whole = _train(tmp_path / "whole")
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    # Checkpoint every step (~0.06 s), kill -9 once a mid-epoch checkpoint of epoch 2+ exists.
    victim = _train(tmp_path / "killed", every="0.0001")
    deadline = time.time() + 240
    while time.time() < deadline:
        latest = tmp_path / "killed" / "latest.json"
        if latest.exists():
            name = json.loads(latest.read_text())["checkpoint"]
            meta = tmp_path / "killed" / name / "meta.json"
            if meta.exists():
                state = json.loads(meta.read_text())["state"]
                if state["epoch"] >= 2 and state["batch"] > 0:
                    break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    resumed = _train(tmp_path / "killed")
    out2, err2 = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err2
    assert _parse(out2, "EPOCHS") == [1, 2, 3, 4, 5, 6]
    assert np.allclose(_parse(out2, "SCORES"), _parse(out, "SCORES"), atol=1e-5)


def _cli(ws, *args, nproc=1):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}", "-m", "recdash"] if nproc > 1 else \
        [sys.executable, "-m", "recdash"]
    out = subprocess.run([*launcher, "--workspace", str(ws), *args], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
def test_two_processes_with_gloo_match_one(tmp_path):
    from tests.models.test_attention import cyclic_data
    ds, _ = cyclic_data(n_users=160)
    csv = tmp_path / "cyc.csv"
    ds.interactions[["user_id", "item_id"]].to_csv(csv, index=False)
    ws = tmp_path / "ws"
    _cli(ws, "import", "--interactions", str(csv), "--name", "cyc")
    common = ["train", "--data", "cyc", "--model", "attention", "--device", "cpu", "--epochs",
              "12", "--max-len", "10", "--dim", "32", "--lr", "0.005", "--k", "1", "--json"]
    one = json.loads(_cli(ws, *common, "--batch-size", "32"))
    # Two processes, each with half the batch: the same global batch per step.
    two = json.loads(_cli(ws, *common, "--batch-size", "16", nproc=2).strip().splitlines()[-1])
    assert one["metrics"]["HR@1"] > 0.8 and two["metrics"]["HR@1"] > 0.8
    assert abs(one["metrics"]["HR@1"] - two["metrics"]["HR@1"]) < 0.1
    from recdash.workspace import Workspace
    runs = Workspace(ws).runs("cyc")
    assert len(runs) == 2 and set(runs["status"]) == {"finished"}  # one run per launch
