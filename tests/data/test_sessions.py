"""Sessions: a log keyed by a session column is read as sessions, and shoppers' events are cut
into sessions at a gap of inactivity."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset

LOG = pd.DataFrame({
    "user": ["u1"] * 5 + ["u2"] * 2,
    "item": list("abcde") + list("xy"),
    "ts": ["2024-05-01T10:00", "2024-05-01T10:20", "2024-05-01T11:00",  # 40 min gap: cut
           "2024-05-01T11:29", "2024-05-03T09:00",                      # 2 days: cut
           "2024-05-01T10:00", "2024-05-01T10:30"],                     # exactly 30: kept
})


def test_events_are_cut_into_sessions_at_the_gap_in_time_order():
    ds, report = prepare_dataset("s", LOG, session_gap=30)
    assert ds is not None, report.format()
    seqs = ds.interactions.groupby(S.USER, sort=False)[S.ITEM].apply("".join).to_dict()
    assert seqs == {"u1#1": "ab", "u1#2": "cd", "u1#3": "e", "u2#1": "xy"}
    (cut,) = [f for f in report.findings if f.code == "sessions_cut"]
    assert cut.count == 4 and "2 shopper(s)' events were cut into 4 sessions at 30 minutes" \
        in cut.message
    assert report.stats["sequences"] == "sessions" and report.stats["users"] == 4
    ds, _ = prepare_dataset("s", LOG, session_gap=60)
    assert sorted(ds.interactions[S.USER].unique()) == ["u1#1", "u1#2", "u2#1"]


def test_a_session_column_is_read_as_sessions_and_a_shopper_column_as_shoppers():
    visits = LOG.rename(columns={"user": "session_id"})
    _, report = prepare_dataset("s", visits)
    assert report.stats["sequences"] == "sessions"
    _, report = prepare_dataset("s", LOG)
    assert report.stats["sequences"] == "shoppers"


@pytest.mark.parametrize("gap, code", [(0, "bad_session_gap"), (-5, "bad_session_gap")])
def test_a_bad_gap_or_a_log_without_times_is_refused(gap, code):
    ds, report = prepare_dataset("s", LOG, session_gap=gap)
    assert ds is None and [f.code for f in report.errors] == [code]
    ds, report = prepare_dataset("s", LOG.drop(columns="ts"), session_gap=30)
    assert ds is None and [f.code for f in report.errors] == ["session_gap_needs_time"]


def test_a_public_folder_is_cut_into_sessions_too_or_told_why_not(tmp_path):
    from recdash.data.dataset import prepare_public

    seq = tmp_path / "user_sequence.txt"
    seq.write_text("u1 a b c\nu2 c d\n")
    ds, report = prepare_public("p", seq, session_gap=30)  # a sequence file has no times
    assert ds is None and [f.code for f in report.errors] == ["session_gap_needs_time"]
    ds, report = prepare_public("p", seq)
    assert ds is not None and report.stats["sequences"] == "shoppers"
