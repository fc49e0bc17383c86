"""truth.parquet: which snapshots it covers, and that its probabilities mean something."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HORIZON = pd.Timedelta(days=180)
GRACE = pd.Timedelta(days=30)
LEAD = pd.Timedelta(days=90)


def _lapses(main_contracts: pd.DataFrame) -> pd.DataFrame:
    """Main-contract ends with no new main contract starting within the grace days."""
    main = main_contracts.assign(
        next_start=main_contracts.groupby("account_id")["start_date"].shift(-1)
    )
    lapsed = main["next_start"].isna() | (main["next_start"] > main["end_date"] + GRACE)
    return main.loc[lapsed, ["account_id", "end_date"]]


MIN_RISK = pd.Timedelta(days=90)


def _in_force(joined: pd.DataFrame, at: str = "as_of") -> pd.Series:
    return (joined["start_date"] < joined[at]) & (joined[at] <= joined["end_date"])


def _covered(main_contracts: pd.DataFrame, snapshots: pd.DataFrame) -> pd.Series:
    joined = snapshots[["account_id", "as_of"]].reset_index().merge(main_contracts, on="account_id")
    return snapshots.index.isin(joined.loc[_in_force(joined), "index"])


def _window_end(truth: pd.DataFrame, main_contracts: pd.DataFrame) -> pd.Series:
    """T = max(E, as_of + 90 days), E the end of the main term in force at as_of."""
    joined = truth[["account_id", "as_of"]].reset_index().merge(main_contracts, on="account_id")
    renewal = joined[_in_force(joined)].groupby("index")["end_date"].max()
    renewal = renewal.reindex(truth.index)
    return np.maximum(renewal, truth["as_of"] + MIN_RISK)


def _realised(tables: dict[str, pd.DataFrame], main_contracts, data_end) -> pd.DataFrame:
    """Rows whose renewal risk is known, with the realised churn (coverage lapsed by T)."""
    truth = tables["truth"]
    truth = truth.assign(window_end=_window_end(truth, main_contracts))
    known = truth[truth["window_end"] + GRACE < data_end].reset_index(drop=True)
    pairs = known.reset_index().merge(_lapses(main_contracts), on="account_id")
    inside = (pairs["end_date"] >= pairs["as_of"]) & (pairs["end_date"] <= pairs["window_end"])
    return known.assign(churn=known.index.isin(pairs.loc[inside, "index"]))


def _realised_expansion(tables: dict[str, pd.DataFrame], main_contracts, data_end) -> pd.DataFrame:
    """Rows whose horizon is known, with realised expansion (ARR up 5% at the horizon)."""
    truth = tables["truth"]
    known = truth[truth["as_of"] + HORIZON + GRACE < data_end].reset_index(drop=True)
    contracts = tables["contracts"]

    def arr_at(dates: pd.Series) -> np.ndarray:
        frame = known[["account_id"]].assign(at=dates.to_numpy()).reset_index()
        joined = frame.merge(contracts, on="account_id")
        sums = joined[_in_force(joined, "at")].groupby("index")["arr"].sum()
        return sums.reindex(known.index, fill_value=0.0).to_numpy()

    now, later = arr_at(known["as_of"]), arr_at(known["as_of"] + HORIZON)
    return known.assign(expansion=later > now * 1.05)


def test_truth_has_one_row_per_snapshot_and_probabilities(tables):
    truth = tables["truth"]
    assert list(truth.columns) == [
        "account_id",
        "as_of",
        "spine",
        "churn_probability",
        "expansion_probability",
        "survival_3m",
        "survival_6m",
        "survival_12m",
    ]
    assert set(truth["spine"]) == {"monthly", "renewals"}
    assert not truth.duplicated(["account_id", "as_of", "spine"]).any()
    for column in ("churn_probability", "expansion_probability", "survival_3m", "survival_12m"):
        assert truth[column].between(0.0, 1.0).all()
    # A survival curve never rises.
    assert (truth["survival_3m"] >= truth["survival_6m"] - 1e-6).all()
    assert (truth["survival_6m"] >= truth["survival_12m"] - 1e-6).all()


def test_monthly_spine_is_every_month_start_with_a_running_contract(
    tables, main_contracts, data_end
):
    truth = tables["truth"]
    accounts = tables["accounts"]["account_id"]
    first = truth["as_of"].min()
    month_starts = pd.date_range(first, data_end, freq="MS", inclusive="left")
    assert first.day == 1
    grid = pd.MultiIndex.from_product([accounts, month_starts], names=["account_id", "as_of"])
    snapshots = grid.to_frame(index=False)
    expected = snapshots[_covered(main_contracts, snapshots)]
    monthly = truth[truth["spine"] == "monthly"]
    assert set(map(tuple, monthly[["account_id", "as_of"]].to_numpy())) == set(
        map(tuple, expected.to_numpy())
    )


def test_renewal_spine_scores_each_contract_end_when_its_window_opens(
    tables, main_contracts, data_end
):
    truth = tables["truth"]
    first = truth["as_of"].min()
    # only terms already signed when the window opens (a later term is unknown at as_of)
    signed = main_contracts[main_contracts["start_date"] < main_contracts["end_date"] - LEAD]
    candidates = signed[["account_id", "end_date"]].drop_duplicates()
    candidates = candidates.assign(as_of=candidates["end_date"] - LEAD)
    candidates = candidates[(candidates["as_of"] >= first) & (candidates["as_of"] < data_end)]
    candidates = candidates[_covered(main_contracts, candidates.reset_index(drop=True))]
    renewals = truth[truth["spine"] == "renewals"]
    assert len(renewals) > 100
    assert set(map(tuple, renewals[["account_id", "as_of"]].to_numpy())) == set(
        map(tuple, candidates[["account_id", "as_of"]].to_numpy())
    )


def test_every_running_account_carries_a_renewal_risk(tables, main_contracts):
    # The risk refers to each account's own next renewal, however far: an account renewing in a
    # year is not safe by construction (the old fixed-horizon label gave it exactly 0).
    monthly = tables["truth"][tables["truth"]["spine"] == "monthly"].reset_index(drop=True)
    joined = monthly.reset_index().merge(main_contracts, on="account_id")
    running = joined[_in_force(joined)]
    far = running[running["end_date"] > running["as_of"] + HORIZON]
    assert len(far) > 100
    risk = monthly.loc[far["index"], "churn_probability"]
    assert (risk > 0.0).all()
    assert risk.mean() > 0.02


def test_realised_churn_follows_the_true_probability(tables, main_contracts, data_end):
    known = _realised(tables, main_contracts, data_end)
    assert known["churn"].sum() > 50
    low, high = known["churn_probability"].quantile([1 / 3, 2 / 3])
    rate_low = known.loc[known["churn_probability"] <= low, "churn"].mean()
    rate_high = known.loc[known["churn_probability"] > high, "churn"].mean()
    assert rate_high > 0.15
    assert rate_high > 5 * rate_low
    # Calibrated, not just ordered: the mean probability matches the realised rate within three
    # standard errors. Rows of one account share its outcome, so the error is clustered by
    # account (300 accounts here, not thousands of independent rows).
    residual = known["churn"].astype(float) - known["churn_probability"]
    per_account = residual.groupby(known["account_id"]).sum()
    standard_error = np.sqrt((per_account**2).sum()) / len(known)
    assert standard_error < 0.03  # the check has the power to see a 0.1 bias
    assert abs(residual.mean()) < 3 * standard_error


@pytest.mark.parametrize("months", [6, 12])
def test_realised_survival_follows_the_true_curve(tables, main_contracts, data_end, months):
    """The true S(t): coverage has not lapsed by as_of + t calendar months."""
    truth = tables["truth"]
    truth = truth[truth["spine"] == "monthly"]
    horizon = truth["as_of"] + pd.DateOffset(months=months)
    known = truth[horizon + GRACE < data_end].reset_index(drop=True)
    pairs = known.reset_index().merge(_lapses(main_contracts), on="account_id")
    ends = known["as_of"] + pd.DateOffset(months=months)
    inside = (pairs["end_date"] >= pairs["as_of"]) & (
        pairs["end_date"] <= ends.to_numpy()[pairs["index"]]
    )
    lost = known.index.isin(pairs.loc[inside, "index"])
    residual = (~lost).astype(float) - known[f"survival_{months}m"]
    per_account = residual.groupby(known["account_id"]).sum()
    standard_error = np.sqrt((per_account**2).sum()) / len(known)
    assert lost.sum() > 50
    assert abs(residual.mean()) < 3 * standard_error
    low = known[f"survival_{months}m"] < known[f"survival_{months}m"].quantile(1 / 3)
    assert lost[low.to_numpy()].mean() > 3 * lost[~low.to_numpy()].mean()


def test_realised_expansion_follows_the_true_probability(tables, main_contracts, data_end):
    known = _realised_expansion(tables, main_contracts, data_end)
    low, high = known["expansion_probability"].quantile([1 / 3, 2 / 3])
    rate_low = known.loc[known["expansion_probability"] <= low, "expansion"].mean()
    rate_high = known.loc[known["expansion_probability"] > high, "expansion"].mean()
    assert rate_high > rate_low + 0.25


def test_no_event_through_renewals_stops_at_a_term_switch():
    from simulator._truth import _none_through_renewals

    p = np.array([[0.1, 0.2, 0.5], [0.1, 0.2, 0.5], [0.1, 0.2, 0.5]])
    valid = np.array([[True, True, False], [True, True, False], [True, True, True]])
    none = _none_through_renewals(p, valid, np.array([0.0, 1.0, 0.5]))
    assert none[0] == pytest.approx(0.9 * 0.8)  # no switch: every valid renewal counts
    assert none[1] == pytest.approx(0.9)  # always switches after the first renewal
    # After each renewal without the event, half switch away and are safe from then on.
    assert none[2] == pytest.approx(0.9 * (0.5 + 0.5 * 0.8 * (0.5 + 0.5 * 0.5)))


def test_expected_shocks_match_the_week_by_week_recursion():
    from simulator import _params as P
    from simulator._truth import _expected_shocks

    segment = np.array([0, 2, 2])
    champion_absent = np.array([0.0, 1.0, 0.0])
    sponsor_role = np.array([False, True, True])
    sponsor_absent = np.array([0.0, 0.0, 1.0])
    at = _expected_shocks(segment, champion_absent, sponsor_role, sponsor_absent)
    steps = np.arange(30)[None, :].repeat(3, axis=0)
    closed = at(steps)

    expected = np.zeros((3, 30))
    for row in range(3):
        seg = P.SEGMENT_PARAMS[segment[row]]
        champion, sponsor, drift = 1.0 - champion_absent[row], 1.0 - sponsor_absent[row], 0.0
        sponsor_leave = seg.sponsor_leave * sponsor_role[row]
        for k in range(1, 30):
            shock = (
                P.OUTAGE_SHOCK * P.OUTAGE_HAZARD
                + P.CHAMPION_SHOCK * seg.champion_leave * champion
                + P.SPONSOR_SHOCK * sponsor_leave * sponsor
            )
            drift = (1.0 - P.KAPPA) * drift - shock
            expected[row, k] = drift
            champion = champion * (1 - seg.champion_leave) + (1 - champion) * seg.champion_replace
            sponsor = sponsor * (1 - sponsor_leave) + (1 - sponsor) * seg.sponsor_replace
    assert np.allclose(closed, expected, atol=1e-9)
    assert (closed[:, 1:] < 0).all() and (closed[:, 0] == 0).all()
