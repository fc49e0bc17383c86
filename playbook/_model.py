"""The expansion model's bands, for the default "ready to expand" threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retain.config import Config
from retain.errors import RetainError


def expansion_bands(config: Config, version: str) -> dict[str, Any]:
    """`bands_` of the expansion model version that made the scores (`path:` versions come
    from `serving.model_path`, the others from the registry, checked against their SHA-256)."""
    from training.registry import ModelRef, load_version, model_name
    from training.segmented import SegmentedModel

    if version.startswith("path:"):
        if not config.serving.model_path:
            raise RetainError(
                f"The scores come from a saved model folder ({version}); pass the same "
                "--model-path, or set [playbook] expansion_ready_from"
            )
        return dict(SegmentedModel.load(Path(config.serving.model_path) / "expansion").bands_)
    ref = ModelRef(name=model_name("expansion", config), version=str(version))
    try:
        return dict(load_version("expansion", ref, config).model.bands_)
    except RetainError as error:
        raise RetainError(
            f"{error}. The 'ready to expand' threshold is the expansion model's top band: "
            "point MLFLOW_TRACKING_URI at the registry that scored, or set [playbook] "
            "expansion_ready_from"
        ) from error
