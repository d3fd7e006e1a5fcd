"""The session protocol: sessions split by time (no test session's events reach training), every
prefix of a test session evaluated against its next item, repeats allowed; checked against a
case computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.splits import all_events, make_split
from recdash.errors import RecdashError
from recdash.eval.evaluate import evaluate
from recdash.models.base import Recommender, TrainData

# Four sessions; with one-day windows before the last event (Jan 10 11:10) s3 (ends Jan 9
# 10:01) is validation and s4 (ends Jan 10) the test session. s4 starts before the test cutoff
# (Jan 9 11:10), yet is a test session whole: a session is dated by its last event.
SESSIONS = [("s1", "a", "2026-01-01 10:00"), ("s1", "b", "2026-01-01 10:01"),
            ("s1", "a", "2026-01-01 10:02"),
            ("s2", "b", "2026-01-05 10:00"), ("s2", "c", "2026-01-05 10:01"),
            ("s3", "c", "2026-01-09 10:00"), ("s3", "a", "2026-01-09 10:01"),
            ("s4", "a", "2026-01-09 09:00"), ("s4", "b", "2026-01-10 11:00"),
            ("s4", "a", "2026-01-10 11:05"), ("s4", "d", "2026-01-10 11:10")]


def events(rows=SESSIONS) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=[S.USER, S.ITEM, S.TIME])
    ev[S.TIME] = pd.to_datetime(ev[S.TIME], utc=True)
    ev[S.EVENT] = S.VIEW
    return ev


def split():
    return make_split(events(), None, "sessions", test_days=1.0, valid_days=1.0)


def test_whole_sessions_are_split_by_time_and_none_of_a_held_out_one_trains():
    sp = split()
    users = list(sp.users)
    assert dict(zip(users, sp.train_len)) == {"s1": 3, "s2": 2, "s3": 0, "s4": 0}
    train = sp.train()
    assert len(train.items) == 5  # s1 and s2 only
    # Every training event happened before the validation cutoff; s4's first event (before the
    # test cutoff) is held out with the rest of its session.
    t_valid = pd.Timestamp("2026-01-08 11:10", tz="UTC").timestamp()
    assert (train.times < t_valid).all()
    s4 = sp.sequences[list(sp.users).index("s4")]
    assert sp.sequences.times[sp.sequences.offsets[3]] < t_valid + 86400 and len(s4) == 4
    assert "2 training sessions; 1 validation sessions" in sp.notes[-1]


def test_every_prefix_of_a_test_session_is_evaluated_against_its_next_item():
    sp = split()
    items = list(sp.items)
    s4 = list(sp.users).index("s4")
    assert sp.test.users.tolist() == [s4, s4, s4]
    assert sp.test.cut.tolist() == [1, 2, 3]
    assert [items[i] for i in sp.test.targets.items] == ["b", "a", "d"]
    assert [items[i] for i in sp.valid.targets.items] == ["a"]  # s3: c -> a


class Fixed(Recommender):
    """Scores that depend only on the last item of the history (a hand-checkable model)."""

    table: dict[str, list[float]] = {}  # last item -> scores of a, b, c, d

    def _fit(self, data: TrainData, progress) -> None:
        self.order = list(data.items)

    def _score(self, histories):
        last = [self.order[h[-1]] for h in histories]
        return np.array([self.table[x] for x in last], dtype=np.float32)


def test_prefix_metrics_match_a_hand_computed_case_with_repeats_allowed():
    sp = split()
    assert list(sp.items) == ["a", "b", "c", "d"]
    model = Fixed()
    #                 a    b    c    d
    Fixed.table = {"a": [0.9, 0.8, 0.1, 0.0],   # after "a": a, b, c, d
                   "b": [0.5, 0.9, 0.1, 0.4]}   # after "b": b, a, d, c
    model.fit(TrainData.from_split(sp))
    # Prefixes of s4: [a] -> b: rank 2 (a first; the seen "a" is kept as a candidate);
    # [a b] -> a: rank 2; [a b a] -> d: rank 4. HR@2 = 2/3, MRR@2 = (1/2 + 1/2 + 0) / 3.
    res = evaluate(model, sp, ks=(2, 4), exclude_seen=False)
    assert res.metrics["HR@2"] == pytest.approx(2 / 3)
    assert res.metrics["MRR@2"] == pytest.approx(1 / 3)
    assert res.metrics["NDCG@4"] == pytest.approx((2 / np.log2(3) + 1 / np.log2(5)) / 3)
    assert res.protocol.n_users == 3
    label = res.protocol.label()
    assert label.startswith("sessions split by time, every prefix against its next item, test")
    assert "seen items kept" in label and "3 prefixes" in label and "HR@k" in label
    assert any(n.startswith("33.3% of the targets repeat an item") for n in res.notes)
    # With seen items excluded the repeat target "a" is unreachable, and said to be.
    excl = evaluate(model, sp, ks=(2, 4), exclude_seen=True)
    assert excl.metrics["HR@2"] == pytest.approx(2 / 3)  # b rank 1, a unreachable, d rank 2
    assert any("unreachable" in n for n in excl.notes)


def test_a_session_split_needs_timestamps_and_says_what_to_use_instead():
    ev = events().assign(**{S.TIME: pd.NaT})
    with pytest.raises(RecdashError, match="needs timestamps.*leave-one-out"):
        make_split(ev, None, "sessions")


def test_a_refit_split_trains_on_every_event_and_holds_nothing_out():
    sp = all_events(split())
    assert sp.train_len.tolist() == sp.sequences.lengths.tolist()
    assert len(sp.train().items) == len(SESSIONS)
    assert len(sp.valid.users) == 0 and len(sp.test.users) == 0
