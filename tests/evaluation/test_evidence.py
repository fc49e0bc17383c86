from types import SimpleNamespace

import pandas as pd

from evaluation._evidence import evidence_for
from retain.config import Config

PLAN = SimpleNamespace(mode="rolling", spacing="quarterly", known_share={"2025-01-01": 1.0})


def _predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "chosen",
            "cutoff": "2025-01-01",
            "account_id": [f"a{i}" for i in range(8)],
            "churn": [1.0, 0.0] * 4,
            "p_churn": [0.9, 0.1] * 4,
        }
    )


def test_a_model_beating_the_headline_beyond_the_noise_is_said_not_only_ties() -> None:
    models = {
        "chosen": {"roc_auc": 0.749, "roc_auc_ci": [0.72, 0.78]},
        "global": {"roc_auc": 0.75, "roc_auc_vs_headline_ci": [-0.004, 0.006]},
        "scorecard": {"roc_auc": 0.776, "roc_auc_vs_headline_ci": [0.006, 0.050]},
        "logistic": {"roc_auc": 0.709, "roc_auc_vs_headline_ci": [-0.06, -0.02]},
        "oracle": {"roc_auc": 0.894, "roc_auc_vs_headline_ci": [0.12, 0.17]},
    }
    evidence = evidence_for("churn", _predictions(), models, PLAN, Config())
    assert evidence["headline"] == "chosen"
    assert evidence["beaten_by"] == [
        "the scorecard model ranks churners better than the chosen model beyond the noise "
        "(ROC-AUC difference +0.006 to +0.050)"
    ]
    assert len(evidence["unsupported"]) == 1 and "chosen and global" in evidence["unsupported"][0]
    # Worse beyond the noise (logistic) and the oracle are neither ties nor defeats.
    assert not any("logistic" in line or "oracle" in line for line in evidence["beaten_by"])
