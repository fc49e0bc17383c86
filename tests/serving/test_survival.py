"""Time to churn in the scores file and on the review page, from a saved model folder."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from features.person_months import DAYS_PER_MONTH, window_months
from serving.batch import flat_csv_frame, results_frame, score_snapshot
from serving.review import render_review, review_context
from serving.scoring import load_model_pair
from serving.survival import survival_svg
from training.survival import SurvivalModel, anchored_curves, survival_at


@pytest.fixture(scope="module")
def with_survival(trained: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shared model pair plus a SurvivalModel in its `survival/` folder."""
    folder = tmp_path_factory.mktemp("with_survival") / "models"
    shutil.copytree(trained["folder"], folder)
    frame = trained["frame"]
    renewal_month = np.ceil(frame["days_to_renewal"].to_numpy() / DAYS_PER_MONTH).astype(int)
    outcome = pd.DataFrame(
        {
            "duration": np.where(frame["churn"] == 1, renewal_month, 12),
            "event": frame["churn"].to_numpy() == 1,
        }
    )
    SurvivalModel(trained["config"], n_months=24).fit(frame, outcome).save(folder / "survival")
    config = trained["config"].with_overrides({"serving": {"model_path": str(folder)}})
    models = load_model_pair(config)
    snapshot = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    results = score_snapshot(snapshot, models, config)
    return {"config": config, "models": models, "snapshot": snapshot, "results": results}


def test_each_result_has_a_curve_that_agrees_with_its_renewal_risk(with_survival):
    results, snapshot = with_survival["results"], with_survival["snapshot"]
    curves = np.array([r["survival"] for r in results])
    assert curves.shape == (len(snapshot), 24)
    assert (np.diff(curves, axis=1) <= 1e-4).all()  # rounded to 4 places
    p = np.array([r["churn_probability"] for r in results])
    config = with_survival["config"]
    exact = anchored_curves(
        SurvivalModel.load(config.serving.model_path + "/survival"), snapshot, p, config
    )
    np.testing.assert_allclose(curves, exact.round(4))  # served rounded to 4 places
    np.testing.assert_allclose(1 - survival_at(exact, window_months(snapshot, config)), p)
    months = np.array([r["expected_months_retained"] for r in results])
    assert ((months > 0) & (months <= 24)).all()


def test_scores_file_and_csv_carry_the_curve(with_survival):
    results, snapshot, models = (with_survival[k] for k in ("results", "snapshot", "models"))
    frame = results_frame(snapshot, results, models)
    assert json.loads(frame.loc[0, "survival"]) == results[0]["survival"]
    assert frame.loc[0, "survival_12m"] == results[0]["survival"][11]
    flat = flat_csv_frame(frame, 3)
    assert "survival" not in flat.columns
    assert {"expected_months_retained", "survival_3m", "survival_24m"} <= set(flat.columns)


def test_review_page_plots_the_curve_of_each_at_risk_account(with_survival):
    results, snapshot, models = (with_survival[k] for k in ("results", "snapshot", "models"))
    context = review_context(results_frame(snapshot, results, models), models)
    assert context["at_risk"]
    assert all(a["survival_svg"].startswith("<svg") for a in context["at_risk"])
    html = render_review(context)
    assert html.count('<path fill="none"') >= len(context["at_risk"])


def test_survival_svg_draws_one_point_per_month_from_one():
    svg = survival_svg([0.9, 0.8, 0.5], months=3)
    points = svg.split('d="M')[1].split('"')[0].split()
    assert len(points) == 4
    assert points[0].endswith(",3.0")  # S(0) = 1 at the top
    assert survival_svg(None) == ""


def test_score_and_score_accounts_answer_with_the_curve(with_survival, tmp_path):
    import asyncio

    from serving.api import ScoringApi, Settings
    from serving.schemas import AccountFeatures, AccountResult
    from serving.store import write_store

    config = with_survival["config"].with_overrides(
        {"serving": {"store_path": str(tmp_path / "scores.duckdb")}}
    )
    snapshot, results, models = (with_survival[k] for k in ("snapshot", "results", "models"))
    write_store(config.serving.store_path, snapshot, models, results)
    api = ScoringApi(Settings(config=config, tokens=("t",)))
    api.load()
    row = snapshot.iloc[0]
    features = {
        name: (None if pd.isna(row[name]) else row[name])
        for name in models.feature_names
        if name in snapshot.columns
    }
    sent = AccountFeatures(account_id="x", segment=row["segment"], features=features)
    answer = json.loads(api.score([sent]).body)["results"][0]
    assert len(answer["survival"]) == 24
    assert 0 < answer["expected_months_retained"] <= 24
    AccountResult(**answer)  # the declared response model accepts it
    stored = json.loads(asyncio.run(api.score_accounts([results[0]["account_id"]], None)).body)
    assert stored["results"][0]["survival"] == results[0]["survival"]
    document = json.dumps(api.openapi())  # the served OpenAPI document declares both fields
    assert '"survival"' in document and '"expected_months_retained"' in document


def test_the_openapi_schema_declares_the_curve():
    from serving.schemas import AccountResult

    properties = AccountResult.model_json_schema()["properties"]
    assert {"survival", "expected_months_retained"} <= set(properties)
    assert "months after as_of" in properties["survival"]["description"]
