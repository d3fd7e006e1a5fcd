"""Evaluation on given (prefix, next item) pairs: ranks, metrics and the held-out sessions, by
hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from recdash.cli import main
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import DataFileError
from recdash.eval.pairs import Pairs, evaluate_pairs, read_pairs
from recdash.workspace import Workspace


class Fixed:
    """A model whose scores are given: the same row for every prefix, plus the prefix's items
    (to show repeats are not masked)."""

    def __init__(self, row, bonus=0.0):
        self.row, self.bonus = np.asarray(row, np.float32), bonus

    def score(self, histories):
        out = np.tile(self.row, (len(histories), 1))
        for b, h in enumerate(histories):
            out[b, h] += self.bonus
        return out


ITEMS = np.array(["a", "b", "c", "d", "e"], dtype=object)


def test_ranks_and_metrics_match_a_hand_computed_case():
    model = Fixed([5, 4, 3, 2, 1])  # a > b > c > d > e for every prefix
    pairs = Pairs([["a"], ["a", "b"], ["c"], ["d"]], np.array(["b", "d", "a", "zzz"], object),
                  frozenset())
    m = evaluate_pairs(model, ITEMS, pairs, ks=(1, 3))
    # Ranks: b 2, d 4, a 1 (a repeat of nothing here), zzz never trained: a miss.
    assert m["P@1"] == pytest.approx(1 / 4) and m["P@3"] == pytest.approx(2 / 4)
    assert m["MRR@3"] == pytest.approx((1 / 2 + 1) / 4)
    assert m["NDCG@3"] == pytest.approx((1 / math.log2(3) + 1) / 4)
    assert (m["pairs"], m["unknown_targets"]) == (4, 1)
    assert m["repeat_share"] == 0.0


def test_repeats_stay_candidates_and_ties_are_split():
    repeat = Pairs([["c"]], np.array(["c"], object), frozenset())
    m = evaluate_pairs(Fixed([0, 0, 0, 0, 0], bonus=1.0), ITEMS, repeat, ks=(1,))
    assert m["P@1"] == 1.0 and m["repeat_share"] == 1.0
    tied = Pairs([["a"]], np.array(["b"], object), frozenset())
    # b ties with 4 others: expected rank 1 + 4/2 = 3.
    assert evaluate_pairs(Fixed([1, 1, 1, 1, 1]), ITEMS, tied, ks=(3,))["MRR@3"] == \
        pytest.approx(1 / 3)


def test_a_pairs_file_names_its_problems(tmp_path):
    bad = tmp_path / "pairs.tsv"
    bad.write_text("prefix\tnext\na b\tc\n")
    with pytest.raises(DataFileError, match="next_item not found"):
        read_pairs(bad)
    bad.write_text("prefix\tnext_item\na b\tc\n\td\n")
    with pytest.raises(DataFileError, match="line 3 has an empty prefix"):
        read_pairs(bad)


def test_the_cli_keeps_the_pairs_sessions_out_of_training(tmp_path, capsys):
    # Training sessions walk a -> b -> c; test session t1 walks c -> a, which training never
    # shows: if t1 leaked into training, sequential rules would rank a first after c.
    rows = [(f"s{u}", i) for u in range(5) for i in "abc"] + [("t1", "c"), ("t1", "a")]
    ds, _ = prepare_dataset("sess", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    ws = Workspace(tmp_path / "ws")
    ws.save_dataset(ds)
    pairs = tmp_path / "test_pairs.tsv"
    pairs.write_text("session_id\tprefix\tnext_item\nt1\tc\ta\n")
    argv = ["--workspace", str(ws.root), "evaluate", "--data", "sess", "--model", "rules",
            "--pairs", str(pairs), "--k", "1", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["P@1"] == 0.0  # nothing follows c in training: a is no better
    assert out["protocol"]["split"] == "pairs" and out["protocol"]["exclude_seen"] is False
    assert "given (prefix, next item) pairs" in out["protocol"]["label"]
    pairs.write_text("session_id\tprefix\tnext_item\nt1\ta\tb\n")
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["P@1"] == 1.0  # a -> b was learnt
    run = ws.runs().iloc[-1]
    assert run["status"] == "finished" and ws.metrics(run["id"])["all"]["P@1"] == 1.0


def test_the_attention_ranker_trains_on_every_position_for_pairs(tmp_path):
    from recdash.runs.spec import RunSpec
    from recdash.runs.train import run_pairs

    walk = "abcdefghijkl"  # more items than the validation's list length, 10
    rows = [(f"s{u:02d}", walk[(u + t) % 12]) for u in range(40) for t in range(4)]
    ds, _ = prepare_dataset("sess", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    ws = Workspace(tmp_path / "ws")
    ws.save_dataset(ds)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("prefix\tnext_item\na b c\td\nb\tc\n")
    spec = RunSpec.build("sess", "attention", {"epochs": 3, "max_len": 5, "dim": 16,
                                               "text": False}, ks=(2,), device="cpu")
    run_id, metrics, protocol = run_pairs(ws, spec, pairs)
    assert protocol.split == "pairs" and metrics["pairs"] == 2
    history = json.loads((ws.run_dir(run_id) / "history.json").read_text())
    assert len(history) == 3
    assert ws.runs().set_index("id").loc[run_id, "status"] == "finished"
