import asyncio
import json

from serving.api import ScoringApi, Settings, service_options, settings_from_env, settings_payload
from serving.schemas import AccountFeatures


def test_not_ready_until_loaded_then_answers(trained: dict, tmp_path) -> None:
    config = trained["config"].with_overrides(
        {"serving": {"store_path": str(tmp_path / "none.duckdb")}}
    )
    api = ScoringApi(Settings(config=config, tokens=("t",)))
    assert not api.ready
    assert api.score([AccountFeatures(account_id="a")]).status_code == 503
    assert asyncio.run(api.score_accounts(["a"], None)).status_code == 503
    assert api.metadata_response().status_code == 503

    api.load()  # no store yet: every account is an unknown account, not a failure
    assert api.ready
    answer = asyncio.run(api.score_accounts(["a"], None))
    assert answer.status_code == 200
    assert "unknown account" in json.loads(answer.body)["results"][0]["error"]
    scored = json.loads(api.score([AccountFeatures(account_id="a", segment="SMB")]).body)
    assert scored["results"][0]["health_band"] in {"green", "yellow", "red"}


def test_request_cap_comes_from_config(trained: dict, tmp_path) -> None:
    config = trained["config"].with_overrides(
        {"serving": {"store_path": str(tmp_path / "none.duckdb"), "max_accounts_per_request": 2}}
    )
    api = ScoringApi(Settings(config=config, tokens=()))
    api.load()
    accounts = [AccountFeatures(account_id=str(i)) for i in range(3)]
    too_many = api.score(accounts)
    assert too_many.status_code == 413
    assert json.loads(too_many.body)["detail"][0]["loc"] == ["accounts"]
    assert api.score(accounts[:2]).status_code == 200


def test_settings_travel_through_the_environment(tmp_path) -> None:
    payload = settings_payload(
        {"serving": {"store_path": "/x/s.duckdb", "workers": 2}},
        workdir=str(tmp_path),
        no_auth=True,
    )
    settings = settings_from_env({"RETAIN_SERVING_CONFIG": payload, "RETAIN_API_TOKENS": "a,b"})
    assert settings.no_auth
    assert settings.tokens == ("a", "b")
    assert settings.config.serving.store_path == "/x/s.duckdb"
    options = service_options(settings)
    assert options["workers"] == 2
    assert options["logging"] == {"access": {"enabled": False}}
    assert options["metrics"] == {"enabled": False}
    # BentoML's own concurrency limit answers 503; ours (ConcurrencyLimit) answers 429.
    assert "max_concurrency" not in options["traffic"]
    defaults = Settings(config=settings.config, tokens=(), bentoml_defaults=True)
    assert service_options(defaults) == {}


def test_reject_mode_makes_an_incomplete_stored_snapshot_a_per_account_error(
    trained: dict, tmp_path
) -> None:
    import numpy as np

    from serving.scoring import load_model_pair
    from serving.store import write_store

    frame = trained["frame"]
    latest = frame[frame["as_of"] == frame["as_of"].max()].head(3).reset_index(drop=True)
    latest.loc[1, "seat_utilization"] = np.nan
    store = tmp_path / "s.duckdb"
    config = trained["config"].with_overrides(
        {"serving": {"store_path": str(store), "missing_values": "reject"}}
    )
    write_store(store, latest, load_model_pair(config), None)  # snapshots only: rescored
    api = ScoringApi(Settings(config=config, tokens=()))
    api.load()
    ids = list(latest["account_id"])
    answer = asyncio.run(api.score_accounts(ids, None))
    assert answer.status_code == 200
    first, second, third = json.loads(answer.body)["results"]
    assert "seat_utilization" in second["error"] and second["account_id"] == ids[1]
    assert first["account_id"] == ids[0] and "churn_probability" in first
    assert third["account_id"] == ids[2] and "churn_probability" in third
