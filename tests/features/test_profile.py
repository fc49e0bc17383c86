"""`features.profile` on every simulator shape: span, term mix, snapshots, base rates, latency."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.profile import profile, term_mix
from features.source import DataSource
from retain.config import load_config
from simulator import simulate

SHAPES = {
    "default": {},
    "months24": {"months": 24},
    "monthly": {"billing": "monthly"},
    "snapshot": {"snapshot": True},
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shapes")
    return {
        name: simulate(root / name, n_accounts=150, seed=3, **options)  # type: ignore[arg-type]
        for name, options in SHAPES.items()
    }


def _profile(folder: Path):
    config = load_config(folder, workdir=folder)
    return profile(DataSource.open(folder, data_end=config.features.data_end), config)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_profile_of_every_shape(shapes, shape) -> None:
    facts = _profile(shapes[shape])
    months = SHAPES[shape].get("months", 36)
    assert facts.history_months == pytest.approx(months, abs=0.5)
    assert facts.accounts == 150 and facts.contracts > 150
    assert sum(facts.term_mix.values()) == pytest.approx(1.0)
    for target in ("churn", "expansion", "contraction"):
        values = facts.targets[target]
        assert 0 < values["known_snapshots"] <= facts.snapshots
        assert 0 < values["base_rate"] < 1
    # Expansion is known a horizon plus grace after as_of; churn at its renewal plus grace.
    assert facts.targets["expansion"]["latency_days_median"] == 210
    labels = facts.labels
    assert (labels["churn_known_at"] >= labels["churn_window_end"]).all()
    if shape == "snapshot":
        assert facts.snapshot_dates == 1 and facts.snapshots_per_account == 1
    else:
        assert facts.snapshots_per_account > 5
    as_dict = facts.as_dict()
    assert as_dict["data_end"] == "2026-10-01" and "labels" not in as_dict


def test_monthly_billing_shows_in_term_mix_and_churn_latency(shapes) -> None:
    monthly, mixed = _profile(shapes["monthly"]), _profile(shapes["default"])
    assert monthly.term_mix["monthly"] > 0.6 > mixed.term_mix["monthly"]
    # A monthly term's risk window is as_of + 90 days, known 30 days later.
    assert monthly.targets["churn"]["latency_days_median"] == 120
    assert mixed.targets["churn"]["latency_days_median"] > 120


def test_term_mix_buckets() -> None:
    ts = pd.Timestamp
    contracts = pd.DataFrame(
        {
            "start_date": [ts("2024-01-01")] * 4,
            "end_date": [ts("2024-02-01"), ts("2024-04-01"), ts("2025-01-01"), ts("2027-01-01")],
        }
    )
    assert term_mix(contracts) == {
        "monthly": 0.25,
        "quarterly": 0.25,
        "annual": 0.25,
        "multi-year": 0.25,
    }
