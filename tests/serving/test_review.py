import json

import numpy as np
import pandas as pd
import pytest

from serving.review import review_context, write_review
from serving.scoring import load_model_pair


def row(account: str, band: str, p: float, arr: float, segment: str = "SMB", **extra) -> dict:
    return {
        "account_id": account,
        "as_of": pd.Timestamp("2024-08-01"),
        "segment": segment,
        "churn_probability": p,
        "expansion_probability": extra.get("expansion", 0.1),
        "health_band": band,
        "csm_id": extra.get("csm", "csm_1"),
        "arr": arr,
        "renewal_date": pd.Timestamp("2024-10-30"),
        "reasons": json.dumps(
            [
                {
                    "feature": "champion_left_90d",
                    "value": 1.0,
                    "contribution": 0.4,
                    "direction": "raises",
                    "text": "Champion left in the last 90 days",
                }
            ]
        ),
        "expansion_reasons": "[]",
        "signals": json.dumps([{"name": "renewal_soon", "text": "Renewal in 90 days"}]),
    }


@pytest.fixture(scope="module")
def models(trained: dict):
    return load_model_pair(trained["config"])


def scored() -> pd.DataFrame:
    return pd.DataFrame(
        [
            row("y_big", "yellow", 0.3, 100_000.0),
            row("r_small", "red", 0.6, 10_000.0),
            row("r_big", "red", 0.5, 50_000.0, segment="Enterprise"),
            row("g", "green", 0.05, 20_000.0, expansion=0.7, csm="<b>csm</b>"),
        ]
    )


def test_red_first_then_yellow_by_arr_at_risk(models) -> None:
    context = review_context(scored(), models)
    assert [a["account_id"] for a in context["at_risk"]] == ["r_big", "r_small", "y_big"]
    assert context["at_risk"][0]["arr_at_risk"] == "$25,000"
    assert context["at_risk"][0]["days_to_renewal"] == "90"
    assert context["at_risk"][0]["reasons"] == ["Champion left in the last 90 days"]
    assert context["expansion"][0]["account_id"] == "g"


def test_segment_summary_uses_expected_retained_arr(models) -> None:
    segments = {s["segment"]: s for s in review_context(scored(), models)["segments"]}
    # SMB: 100k x 0.7 + 10k x 0.4 + 20k x 0.95 = 93,000 of 130,000.
    assert segments["SMB"]["accounts"] == 3
    assert segments["SMB"]["arr"] == "$130,000"
    assert segments["SMB"]["expected_retained_arr"] == "$93,000"
    assert segments["Enterprise"]["expected_retained_arr"] == "$25,000"


def test_writes_self_contained_escaped_html(tmp_path, models) -> None:
    out = tmp_path / "review.html"
    assert write_review(scored(), models, out) == {"at_risk": 3, "expansion": 2}  # not red
    html = out.read_text()
    assert html.index("r_big") < html.index("r_small") < html.index("y_big")
    assert "&lt;b&gt;csm&lt;/b&gt;" in html and "<b>csm</b>" not in html
    assert "<script" not in html and "http" not in html.split("</style>")[0]


def test_far_renewal_accounts_at_risk_are_listed_with_the_window_their_risk_refers_to(
    models, tmp_path
) -> None:
    far = row("far_red", "red", 0.4, 900_000.0, segment="Enterprise")
    far["renewal_date"] = pd.Timestamp("2025-11-01")  # 15 months out
    far["churn_window_end"] = pd.Timestamp("2025-11-01")
    soon = row("monthly", "yellow", 0.2, 5_000.0)
    soon["renewal_date"] = pd.Timestamp("2024-09-01")
    soon["churn_window_end"] = pd.Timestamp("2024-10-30")  # as_of + 90 days
    soon["context"] = json.dumps(
        [{"feature": "days_to_renewal", "value": 31.0, "text": "Renewal in 31 days"}]
    )
    soon["data_gaps"] = json.dumps(["No NPS response on record"])
    context = review_context(pd.DataFrame([far, soon]), models, min_risk_days=90)
    listed = {a["account_id"]: a for a in context["at_risk"]}
    assert listed["far_red"]["risk_window"] == "renewal 2025-11-01"
    assert listed["far_red"]["days_to_renewal"] == "457"
    assert listed["monthly"]["risk_window"] == "by 2024-10-30"
    assert listed["monthly"]["context"] == ["Renewal in 31 days"]
    assert listed["monthly"]["data_gaps"] == ["No NPS response on record"]
    out = tmp_path / "review.html"
    write_review(pd.DataFrame([far, soon]), models, out)
    html = out.read_text()
    assert "renewal 2025-11-01" in html and "Not in the data: No NPS response on record" in html
    assert "90 days out when the renewal comes sooner" in html


def test_what_moved_comes_from_the_ledger_trend_and_change(trained: dict, models, tmp_path):
    """Two monthly snapshots scored into the ledger: the review lists the biggest moves with
    their movers, and a trend per at-risk account."""
    from serving.batch import results_frame, score_snapshot
    from serving.store import write_store

    config = trained["config"].with_overrides(
        {"serving": {"store_path": str(tmp_path / "s.duckdb")}}
    )
    frame = trained["frame"]
    for month in ("2024-07-01", "2024-08-01"):
        snapshot = frame[frame["as_of"] == pd.Timestamp(month)].head(40).reset_index(drop=True)
        results = score_snapshot(snapshot, models, config)
        write_store(config.serving.store_path, snapshot, models, results, config=config)
    scored = results_frame(snapshot, results, models)
    context = review_context(scored, models)
    assert context["previous_as_of"] == "2024-07-01" and context["compared"] == 40
    moves = context["moves"]
    points = [abs(json.loads(c)["points"]) for c in scored["change"]]
    assert moves[0]["account_id"] == scored["account_id"].iloc[int(np.argmax(points))]
    assert moves[0]["change"]["movers"] and "points)" in moves[0]["change"]["movers"][0]
    at_risk = context["at_risk"][0]
    assert at_risk["trend_svg"].count("<svg") == 1 and at_risk["change"]["since"] == "2024-07-01"
    out = tmp_path / "review.html"
    write_review(scored, models, out)
    html = out.read_text()
    assert "What moved since 2024-07-01" in html
    assert moves[0]["change"]["movers"][0] in html.replace("&#39;", "'")


def _play(name: str, owner: str, arm: str = "treated", arr: float = 0.0) -> dict:
    return {
        "play": name,
        "kind": "risk",
        "rank": 1,
        "owner": owner,
        "owner_role": "csm",
        "due_date": "2024-08-08",
        "review_date": "2024-08-15",
        "reason": "red, renewal in 90 days",
        "arm": arm,
        "arr_at_stake": arr,
        "description": "",
    }


def test_what_to_do_per_account_and_per_owner_with_control_plays_held_back(
    models, tmp_path
) -> None:
    frame = scored()
    frame["recommended_plays"] = [
        json.dumps([]),  # y_big: no play fired
        json.dumps([_play("save_plan", "csm_1", arr=6_000.0)]),  # r_small
        json.dumps([_play("adoption_review", "csm_2", arm="control", arr=25_000.0)]),  # r_big
        json.dumps([_play("expansion_opportunity", "csm_1", arr=20_000.0)]),  # g
    ]
    context = review_context(frame, models)
    by_account = {a["account_id"]: a["plays"] for a in context["at_risk"]}
    assert by_account["r_small"][0]["play"] == "save plan"
    assert by_account["r_small"][0]["review"] == "2024-08-15"
    assert by_account["r_big"][0]["held_back"] is True
    assert by_account["y_big"] == []
    owners = {o["owner"]: o for o in context["owners"]}
    assert (owners["csm_1"]["plays"], owners["csm_1"]["red"]) == (2, 1)
    assert owners["csm_1"]["arr_at_stake"] == "$26,000"
    assert (owners["csm_2"]["plays"], owners["csm_2"]["held_back"]) == (0, 1)
    out = tmp_path / "review.html"
    write_review(frame, models, out)
    page = out.read_text()
    assert "What to do" in page and "Per owner" in page
    assert "adoption review: held back (control group)" in page
