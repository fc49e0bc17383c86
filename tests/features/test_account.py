import pandas as pd

from features.account import attribute_kinds
from features.source import DataSource
from retain.config import Config
from tests.features.fixtures_data import base_build, base_frames, build, row


def _with_attributes() -> dict[str, pd.DataFrame]:
    frames = base_frames()
    frames["accounts"] = frames["accounts"].assign(
        plan_tier=["gold", "silver"],
        nps_target=["8", "7.5"],
        external_ref=["x-1", "x-2"],
    )
    return frames


def test_static_attributes_become_features():
    r = row(base_build())
    assert r["account_employees"] == 120.0
    assert r["account_industry"] == "software"
    assert r["account_region"] == "emea"
    assert "csm_id" not in base_build() and "account_csm_id" not in base_build()


def test_extra_columns_are_numeric_categorical_or_dropped():
    config = Config().with_overrides({"features": {"max_category_levels": 1}})
    kinds = attribute_kinds(DataSource.from_frames(_with_attributes()), config)
    # two distinct refs and two tiers exceed one level: both dropped; numbers stay numbers
    assert kinds == {"nps_target": "numeric"}
    frame = build(_with_attributes())
    assert frame["attr_nps_target"].dtype == "float64"
    assert row(frame)["attr_plan_tier"] == "gold"
    assert row(frame, "a2")["attr_nps_target"] == 7.5
