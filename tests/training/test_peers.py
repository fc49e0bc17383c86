import numpy as np
import pandas as pd

from training import SegmentedModel
from training.peers import healthy_peer_medians


def test_medians_of_green_rows_per_segment_only_numeric_and_enough_rows():
    X = pd.DataFrame(
        {
            "usage": [1.0, 3.0, 5.0, 100.0] + [2.0] * 4,
            "industry": ["a"] * 8,
            "nps": [np.nan, 8.0, 6.0, 0.0] + [np.nan] * 4,
        }
    )
    segments = np.array(["SMB"] * 4 + ["Enterprise"] * 4)
    bands = np.array(["green", "green", "green", "red"] + ["green"] * 3 + ["yellow"])
    peers = healthy_peer_medians(X, ["usage", "industry", "nps"], segments, bands, min_rows=3)
    assert peers == {"SMB": {"usage": 3.0, "nps": 7.0}, "Enterprise": {"usage": 2.0}}
    assert healthy_peer_medians(X, ["usage"], segments, bands, min_rows=4) == {}


def test_a_churn_model_keeps_its_healthy_peers_through_save_and_load(frame, config, tmp_path):
    model = SegmentedModel("churn", config).fit(frame, frame["churn"])
    assert set(model.healthy_peers_) <= set(model.segments_)
    assert model.healthy_peers_  # the synthetic frame has green accounts in its segments
    green = model.band(frame) == "green"
    segment = next(iter(model.healthy_peers_))
    rows = green & (frame["segment"] == segment).to_numpy()
    assert (
        model.healthy_peers_[segment]["seat_utilization"]
        == frame.loc[rows, "seat_utilization"].median()
    )
    again = SegmentedModel.load(model.save(tmp_path / "m"))
    assert again.healthy_peers_ == model.healthy_peers_
    assert SegmentedModel("expansion", config).fit(frame, frame["expansion"]).healthy_peers_ == {}
