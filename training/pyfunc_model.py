"""MLflow "models from code" definition of the registered SegmentedModel.

MLflow saves this file's source, not a pickled object; loading it runs this file and
`load_context` reads the model's LightGBM text boosters and JSON (artifact "segmented_model").
So the registry never holds a pickle, and a registered model loads with
MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

ARTIFACT_KEY = "segmented_model"


class SegmentedModelPyfunc(PythonModel):
    """predict(frame) -> probability (calibrated), raw_margin, band, segment per row."""

    def load_context(self, context: Any) -> None:
        from training.segmented import SegmentedModel

        self.model = SegmentedModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from training.bands import band_of

        margin = self.model.raw_margin(model_input)
        p = self.model.proba_from_margin(model_input, margin)[:, 1]
        return pd.DataFrame(
            {
                "probability": p,
                "raw_margin": margin,
                "band": band_of(p, self.model.bands_),
            },
            index=model_input.index,
        )


mlflow.models.set_model(SegmentedModelPyfunc())
