import pandas as pd

from features.build import build_features
from features.source import DataSource
from retain.config import Config

T = pd.Timestamp


def test_given_segment_wins_else_arr_bands():
    accounts = pd.DataFrame(
        {
            "account_id": ["small", "mid", "big", "labelled", "new"],
            "created_at": T("2023-01-01"),
            "segment": [None, None, None, "Strategic", None],
        }
    )
    contracts = pd.DataFrame(
        {
            "contract_id": ["c1", "c2", "c3", "c4", "c5"],
            "account_id": ["small", "mid", "big", "labelled", "new"],
            "start_date": [T("2023-01-01")] * 4 + [T("2023-05-31")],
            "end_date": T("2024-01-01"),
            "arr": [24_999.0, 25_000.0, 100_000.0, 1_000.0, 60_000.0],
        }
    )
    source = DataSource.from_frames({"accounts": accounts, "contracts": contracts})
    frame = build_features(source, Config(), as_of=["2023-06-01"]).set_index("account_id")
    assert frame["segment"].to_dict() == {
        "small": "SMB",
        "mid": "Mid-Market",
        "big": "Enterprise",
        "labelled": "Strategic",
        "new": "Mid-Market",  # started the day before as_of: its ARR at as_of decides
    }
