"""Control groups: the holdback draw is deterministic, independent per play and month, and
holds back the configured share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from playbook.control import arms, assignment_of, control_draw

ROOT = Path(__file__).resolve().parents[2]


def test_the_same_account_play_and_month_give_the_same_draw_in_any_process():
    here = [control_draw(f"acc-{i}", "save_plan", "2026-10-01") for i in range(5)]
    code = (
        "from playbook.control import control_draw; "
        "print(repr([control_draw(f'acc-{i}', 'save_plan', '2026-10-01') for i in range(5)]))"
    )
    for seed in ("0", "123"):  # Python's own str hash changes with PYTHONHASHSEED; sha256 not
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert eval(out) == here  # our own repr of a list of floats
    assert all(0.0 <= d < 1.0 for d in here)


def test_the_draw_is_fixed_within_a_month_and_new_for_another_month_or_play():
    draw = control_draw("acc-1", "adoption_review", "2026-10-01")
    assert control_draw("acc-1", "adoption_review", pd.Timestamp("2026-10-31 17:00")) == draw
    assert control_draw("acc-1", "adoption_review", "2026-11-01") != draw
    assert control_draw("acc-1", "save_plan", "2026-10-01") != draw
    assert control_draw("acc-2", "adoption_review", "2026-10-01") != draw


def test_the_share_held_back_matches_control_share():
    n = 20_000
    ids = pd.Series([f"acc-{i:06d}" for i in range(n)])
    as_of = pd.Series(pd.Timestamp("2026-10-01"), index=ids.index)
    arm = arms(ids, "adoption_review", as_of, 0.1)
    share = (arm == "control").mean()
    # Binomial(20,000, 0.1): standard error 0.0021; four of them is a test that never flakes
    # by chance and still fails on a draw biased by a point.
    assert abs(share - 0.1) < 4 * (0.1 * 0.9 / n) ** 0.5
    # Independent across plays: the two control groups overlap as independent draws would.
    other = arms(ids, "expansion_opportunity", as_of, 0.1)
    both = ((arm == "control") & (other == "control")).mean()
    assert abs(both - 0.01) < 4 * (0.01 * 0.99 / n) ** 0.5


def test_arms_agree_with_the_draw_and_are_the_same_on_a_rerun():
    ids = pd.Series([f"acc-{i}" for i in range(200)])
    as_of = pd.Series(pd.Timestamp("2026-10-01"), index=ids.index)
    arm = arms(ids, "risk_review", as_of, 0.25)
    expected = [
        "control" if control_draw(a, "risk_review", "2026-10-01") < 0.25 else "treated" for a in ids
    ]
    assert arm.tolist() == expected
    assert arms(ids, "risk_review", as_of, 0.25).tolist() == expected
    # A larger share holds back a superset: an account never flips to treated when it grows.
    wider = arms(ids, "risk_review", as_of, 0.5)
    assert set(ids[arm == "control"]) <= set(ids[wider == "control"])


def test_no_share_treats_everyone_and_a_bad_share_is_refused():
    ids = pd.Series(["a", "b", "c"])
    as_of = pd.Series(pd.Timestamp("2026-10-01"), index=ids.index)
    assert arms(ids, "save_plan", as_of, 0.0).tolist() == ["treated"] * 3
    assert assignment_of(0.0) == "rule" and assignment_of(0.1) == "random"
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="control_share"):
            arms(ids, "save_plan", as_of, bad)
