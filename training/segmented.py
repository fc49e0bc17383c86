"""SegmentedModel: the global booster refined per segment, calibrated, stored without pickle.

A segment with enough positive labels in its training window gets a refinement of the global
booster (LightGBM `init_score`), kept only where it ranks the segment's out-of-time rows better;
the others use the global booster, and `segment_strategy_` says which and why. A refined segment
gets its own calibrator, fitted on out-of-time rows; every other segment, and segments unseen at
fit time, use the global booster's calibration (fitted on every out-of-time row). The
refinement's comparison and calibration use the decision half of the out-of-time accounts
(`training._split.decision_half`), so that the other half can compare candidates without the
optimism of rows a choice was made on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from retain.files import write_json, write_text
from training import _booster
from training._design import DesignSpec, labels_array
from training._metrics import paired_bootstrap_interval, validation_metrics
from training._split import decision_half, time_split, validation_order
from training.bands import band_of, choose_bands
from training.calibration import IDENTITY, Calibrator, fit_calibrator
from training.explain import Explanation
from training.peers import healthy_peer_medians

if TYPE_CHECKING:
    import lightgbm as lgb

GLOBAL = "__global__"
SEGMENTATIONS = ("refine", "none")
_REFINE_BOOTSTRAP = 200  # replicates for the refinement's paired interval
FORMAT_VERSION = 1
_MODEL_FILE = "model.json"


def segments_of(frame: pd.DataFrame) -> np.ndarray:
    if "segment" not in frame.columns:
        raise RetainError(
            f"The feature frame has no 'segment' column (columns: {', '.join(frame.columns[:20])})"
        )
    return frame["segment"].astype("string").fillna("(none)").astype(str).to_numpy()


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RetainError(
            f"{what} needs column(s) {', '.join(missing)} in the feature frame "
            f"({len(frame)} rows; columns: {', '.join(map(str, frame.columns[:20]))})"
        )


class SegmentedModel:
    """Per-segment LightGBM with per-segment calibration (scikit-learn estimator contract).

    `segmentation="refine"` (the default) fits the global booster on every segment, then per
    segment with enough positives a booster that starts from the global booster's raw score
    (LightGBM `init_score`) and learns only what that segment does differently; the refinement
    is kept only where it ranks the segment's out-of-time rows strictly better than the global
    booster alone, so segmenting never makes a segment worse on the evidence at hand.
    `segmentation="none"` is one booster and one calibration for all ("one score for all").
    `booster_params` override the LightGBM settings of every booster (the small-data candidate);
    `segment_params` (tuned) override them per segment.
    """

    def __init__(
        self,
        target: str = "churn",
        config: Config | None = None,
        segment_params: Mapping[str, Mapping[str, Any]] | None = None,
        booster_params: Mapping[str, Any] | None = None,
        segmentation: str = "refine",
    ) -> None:
        self.target = target
        self.config = config
        # Tuned LightGBM parameters per segment name ("__global__" for the global booster).
        self.segment_params = segment_params
        self.booster_params = booster_params
        self.segmentation = segmentation

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any) -> SegmentedModel:
        require_columns(X, ("segment", "as_of"), "SegmentedModel.fit")
        if self.segmentation not in SEGMENTATIONS:
            raise RetainError(
                f"Unknown segmentation {self.segmentation!r}; choose one of "
                f"{', '.join(SEGMENTATIONS)}"
            )
        config = self.config or Config()
        tc = config.training
        labels = labels_array(y, self.target)
        if len(labels) != len(X):
            raise RetainError(f"{len(X)} feature rows but {len(labels)} labels")
        if len(np.unique(labels)) < 2:
            raise RetainError(
                f"Cannot train a {self.target} model: all {len(labels)} labelled rows have the "
                f"same label ({labels[0] if len(labels) else 'none'})"
            )
        spec = DesignSpec.from_frame(X)
        matrix = spec.matrix(X)
        segments = segments_of(X)
        # Rows of one account move together; without ids every row is its own account.
        accounts = (
            X["account_id"].astype(str).to_numpy()
            if "account_id" in X.columns
            else np.arange(len(X)).astype(str)
        )
        valid, split = time_split(validation_order(X, self.target), tc.validation_fraction, tc.seed)
        train = ~valid
        # Refinements are kept and calibrated on half the validation accounts; the other half
        # compares the candidates (training._split.decision_half says why).
        decide = valid & decision_half(accounts, tc.seed)
        common = dict(self.booster_params or {})
        params = {k: {**common, **dict(v)} for k, v in (self.segment_params or {}).items()}
        names = list(spec.feature_names)
        cats = spec.categorical_indices

        segment_names = sorted(set(segments.tolist()))
        masks = {segment: segments == segment for segment in segment_names}
        positives = {s: int(labels[masks[s] & train].sum()) for s in segment_names}
        refine = self.segmentation == "refine"
        own = [s for s in segment_names if refine and positives[s] >= tc.min_positives_per_segment]

        def fit_on(mask: np.ndarray, key: str, threads: int, init: np.ndarray | None):
            overrides = {"num_threads": threads, **params.get(key, common)}
            return _booster.fit_booster(
                matrix[mask & train],
                labels[mask & train],
                matrix[mask & valid],
                labels[mask & valid],
                feature_names=names,
                categorical=cats,
                config=tc,
                overrides=overrides,
                init_train=None if init is None else init[mask & train],
                init_valid=None if init is None else init[mask & valid],
            )

        everyone = np.ones(len(X), dtype=bool)
        global_booster = fit_on(everyone, GLOBAL, tc.num_threads, None)
        global_margin = _booster.raw_margin(global_booster, matrix)
        # Each refinement starts from the global booster's raw score. Independent refinements
        # fit side by side, one thread each: LightGBM scales poorly across threads on a shared
        # machine, and separate fits need no synchronisation at all.
        workers = max(1, min(tc.num_threads, len(own)))
        threads = max(1, tc.num_threads // workers)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            refined = dict(
                zip(
                    own,
                    pool.map(lambda s: fit_on(masks[s], s, threads, global_margin), own),
                    strict=True,
                )
            )
        global_calibrator = fit_calibrator(global_margin[valid], labels[valid])
        counts = {
            "train_rows": int(train.sum()),
            "train_positives": int(labels[train].sum()),
            "valid_rows": int(valid.sum()),
            "valid_positives": int(labels[valid].sum()),
        }
        global_metrics = {
            **counts,
            **validation_metrics(labels[valid], global_calibrator.predict(global_margin[valid])),
        }

        boosters: dict[str, lgb.Booster] = {}
        strategy: dict[str, str] = {}
        reasons: dict[str, str] = {}
        calibrators: dict[str, Calibrator] = {}
        metrics: dict[str, dict[str, float]] = {}
        margin = global_margin.copy()
        segment_auc: dict[str, dict[str, float]] = {}
        for segment in segment_names:
            in_segment = masks[segment]
            if segment in refined:
                rows = in_segment & decide
                # The decision rows first: the whole segment is scored only for a refinement
                # that is kept (on a large book, prediction is a fifth of the fit).
                refined_auc, global_auc, low, high = _segment_auc(
                    global_margin[rows] + _booster.raw_margin(refined[segment], matrix[rows]),
                    global_margin[rows],
                    labels[rows],
                    accounts[rows],
                    tc.seed,
                )
                segment_auc[segment] = {
                    "refined": refined_auc,
                    "global": global_auc,
                    "difference_low": low,
                    "difference_high": high,
                }
                evidence = (
                    f"out-of-time ROC-AUC refined {refined_auc:.3f} vs global {global_auc:.3f} "
                    f"(difference 95% interval {low:+.3f} to {high:+.3f})"
                )
                # The same rows stopped the refinement's boosting, so a difference inside the
                # bootstrap noise is no evidence: keep a refinement only beyond it.
                if low > 0:
                    boosters[segment] = refined[segment]
                    strategy[segment] = "refined"
                    reasons[segment] = (
                        f"{positives[segment]} training positives >= "
                        f"{tc.min_positives_per_segment}; {evidence}"
                    )
                    margin[in_segment] = global_margin[in_segment] + _booster.raw_margin(
                        refined[segment], matrix[in_segment]
                    )
                else:
                    strategy[segment] = "global"
                    reasons[segment] = (
                        f"global booster: the refinement does not beat it beyond the noise; "
                        f"{evidence}"
                    )
            elif refine:
                strategy[segment] = "global"
                reasons[segment] = (
                    f"{positives[segment]} training positives < {tc.min_positives_per_segment}: "
                    "global booster, segment calibration"
                )
            else:
                strategy[segment] = "global"
                reasons[segment] = "one score for all: global booster and calibration"
            calibration_rows = in_segment & valid
            calibrator = global_calibrator
            if strategy[segment] == "refined":
                # A refined margin is the segment's own scale: it needs its own mapping. A
                # segment on the global booster keeps the global mapping: recalibrating it on
                # its few out-of-time rows reorders accounts across segments by noise (measured:
                # backtest ROC-AUC 0.02 below the global model at 1,000 accounts).
                decision_rows = in_segment & decide
                own = fit_calibrator(margin[decision_rows], labels[decision_rows])
                calibrator = own if own is not IDENTITY else global_calibrator
            calibrators[segment] = calibrator
            p_valid = calibrator.predict(margin[calibration_rows])
            metrics[segment] = {
                "train_rows": int((in_segment & train).sum()),
                "train_positives": positives[segment],
                "valid_rows": int(calibration_rows.sum()),
                "valid_positives": int(labels[calibration_rows].sum()),
                **validation_metrics(labels[calibration_rows], p_valid),
            }

        p_all = np.empty(len(X))
        for segment in segment_names:
            rows = segments == segment
            p_all[rows] = calibrators[segment].predict(margin[rows])
        metrics["__all__"] = {
            **counts,
            **validation_metrics(labels[valid], p_all[valid]),
        }

        as_of = pd.to_datetime(X["as_of"])
        self.design_ = spec
        self.feature_names_ = names
        self.categories_ = {k: list(v) for k, v in spec.categories.items()}
        self.segments_ = segment_names
        self.segment_strategy_ = strategy
        self.segment_reasons_ = reasons
        # Out-of-time ROC-AUC of each refinement and of the global booster on the segment's rows.
        self.segment_auc_ = segment_auc
        self.boosters_ = boosters
        self.global_booster_ = global_booster
        self.calibrators_ = calibrators
        self.global_calibrator_ = global_calibrator
        self.global_metrics_ = global_metrics
        spine = X["spine"].to_numpy()[valid] if "spine" in X else None
        self.bands_ = choose_bands(labels[valid], p_all[valid], config, spine=spine)
        # Reasons compare an account with the green accounts of its segment; only the churn
        # model's bands say "healthy".
        self.healthy_peers_ = (
            healthy_peer_medians(X, names, segments, band_of(p_all, self.bands_))
            if self.target == "churn"
            else {}
        )
        self.metrics_ = metrics
        self.validation_split_ = split
        self.data_window_ = {
            "first_as_of": str(as_of.min().date()),
            "last_as_of": str(as_of.max().date()),
            "valid_from": str(as_of[valid].min().date()) if valid.any() else None,
        }
        self.n_features_in_ = len(self.feature_names_)
        self.classes_ = np.array([0, 1])
        return self

    # -- prediction ----------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "global_booster_"):
            raise RetainError("This SegmentedModel is not fitted yet; call fit() or load()")

    def _segment_boosters(self, X: pd.DataFrame) -> list[tuple[lgb.Booster, np.ndarray, bool]]:
        """(booster, row mask, adds to the global margin) for the rows of each segment with a
        booster of its own; every other row uses the global booster alone."""
        segments = segments_of(X)
        groups = []
        for segment, booster in self.boosters_.items():
            rows = segments == segment
            if rows.any():
                # "refined" boosters learned on top of the global raw score (init_score); models
                # saved before refinement existed hold standalone ("own") boosters.
                groups.append((booster, rows, self.segment_strategy_.get(segment) != "own"))
        return groups

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds before calibration: the global booster's, plus the segment's refinement."""
        self._check_fitted()
        matrix = self.design_.matrix(X)
        out = _booster.raw_margin(self.global_booster_, matrix)
        for booster, rows, adds in self._segment_boosters(X):
            own = _booster.raw_margin(booster, matrix[rows])
            out[rows] = out[rows] + own if adds else own
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 2); column 1 is the calibrated probability of the target event."""
        return self.proba_from_margin(X, self.raw_margin(X))

    def proba_from_margin(self, X: pd.DataFrame, margin: np.ndarray) -> np.ndarray:
        """`predict_proba` from a raw margin already at hand (`explain` computes one too)."""
        segments = segments_of(X)
        p = np.empty(len(X), dtype=np.float64)
        for segment in np.unique(segments):
            rows = segments == segment
            calibrator = self.calibrators_.get(segment, self.global_calibrator_)
            p[rows] = calibrator.predict(margin[rows])
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def explain(self, X: pd.DataFrame) -> Explanation:
        """Exact TreeSHAP contributions (log-odds) of each row's margin plus its base value.

        A refined segment's margin is the global booster's plus its refinement's, and TreeSHAP
        is additive over the two tree ensembles: the contributions of both add up, so
        `contributions.sum(axis=1) + base_value == raw_margin` holds for every row.
        """
        self._check_fitted()
        matrix = self.design_.matrix(X)
        n_features = len(self.feature_names_)
        values = _booster.contributions(self.global_booster_, matrix)
        margin = _booster.raw_margin(self.global_booster_, matrix)
        for booster, rows, adds in self._segment_boosters(X):
            own = _booster.contributions(booster, matrix[rows])
            own_margin = _booster.raw_margin(booster, matrix[rows])
            values[rows] = values[rows] + own if adds else own
            margin[rows] = margin[rows] + own_margin if adds else own_margin
        frame = pd.DataFrame(values[:, :n_features], columns=self.feature_names_, index=X.index)
        return Explanation(contributions=frame, base_value=values[:, n_features], raw_margin=margin)

    def band(self, X: pd.DataFrame) -> np.ndarray:
        return band_of(self.predict_proba(X)[:, 1], self.bands_)

    # -- persistence (LightGBM text + JSON, never pickle) -------------------------------------

    def save(self, directory: str | Path) -> Path:
        self._check_fitted()
        directory = Path(directory)
        (directory / "boosters").mkdir(parents=True, exist_ok=True)
        files = {GLOBAL: "boosters/global.txt"}
        for i, segment in enumerate(sorted(self.boosters_)):
            files[segment] = f"boosters/segment_{i}.txt"
        for key, relative in files.items():
            booster = self.global_booster_ if key == GLOBAL else self.boosters_[key]
            write_text(directory / relative, booster.model_to_string())
        payload = {
            "format_version": FORMAT_VERSION,
            "kind": "retain.SegmentedModel",
            "target": self.target,
            "design": self.design_.to_json(),
            "segments": self.segments_,
            "segment_strategy": self.segment_strategy_,
            "segment_reasons": self.segment_reasons_,
            "segment_auc": self.segment_auc_,
            "booster_files": files,
            "calibrators": {k: c.to_json() for k, c in self.calibrators_.items()},
            "global_calibrator": self.global_calibrator_.to_json(),
            "global_metrics": self.global_metrics_,
            "bands": self.bands_,
            "healthy_peers": self.healthy_peers_,
            "metrics": self.metrics_,
            "validation_split": self.validation_split_,
            "data_window": self.data_window_,
            "segment_params": self.segment_params,
            "booster_params": self.booster_params,
            "segmentation": self.segmentation,
        }
        write_json(directory / _MODEL_FILE, _json_safe(payload))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> SegmentedModel:
        directory = Path(directory)
        path = directory / _MODEL_FILE
        if not path.is_file():
            raise RetainError(f"No saved SegmentedModel in {directory} (missing {_MODEL_FILE})")
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format_version") != FORMAT_VERSION:
            raise RetainError(
                f"{path} has model format {payload.get('format_version')!r}; "
                f"this version of retain reads format {FORMAT_VERSION}"
            )
        model = cls(
            target=payload["target"],
            segment_params=payload.get("segment_params"),
            booster_params=payload.get("booster_params"),
            segmentation=payload.get("segmentation", "refine"),
        )
        model.design_ = DesignSpec.from_json(payload["design"])
        model.feature_names_ = list(model.design_.feature_names)
        model.categories_ = {k: list(v) for k, v in model.design_.categories.items()}
        model.segments_ = list(payload["segments"])
        model.segment_strategy_ = dict(payload["segment_strategy"])
        model.segment_reasons_ = dict(payload["segment_reasons"])
        model.segment_auc_ = dict(payload.get("segment_auc") or {})
        files = payload["booster_files"]
        model.global_booster_ = _booster.booster_from_file(str(directory / files[GLOBAL]))
        model.boosters_ = {
            key: _booster.booster_from_file(str(directory / relative))
            for key, relative in files.items()
            if key != GLOBAL
        }
        model.calibrators_ = {k: Calibrator.from_json(v) for k, v in payload["calibrators"].items()}
        model.global_calibrator_ = Calibrator.from_json(payload["global_calibrator"])
        model.global_metrics_ = payload["global_metrics"]
        model.bands_ = dict(payload["bands"])
        model.healthy_peers_ = dict(payload.get("healthy_peers") or {})
        model.metrics_ = payload["metrics"]
        model.validation_split_ = payload["validation_split"]
        model.data_window_ = payload["data_window"]
        model.n_features_in_ = len(model.feature_names_)
        model.classes_ = np.array([0, 1])
        return model


def _json_safe(value: Any) -> Any:
    """NaN metrics become null: strict JSON readers reject NaN."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def _segment_auc(
    refined_margin: np.ndarray,
    global_margin: np.ndarray,
    labels: np.ndarray,
    accounts: np.ndarray,
    seed: int,
) -> tuple[float, float, float, float]:
    """Out-of-time ROC-AUC of a segment's refined margin and of the global margin on its rows,
    and the 95% interval of their difference over resampled accounts.

    NaN throughout when the rows hold one class only: no evidence that refining helps, so the
    global booster stays.
    """
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return np.nan, np.nan, np.nan, np.nan
    low, high = paired_bootstrap_interval(
        labels, refined_margin, global_margin, accounts, "roc_auc", seed, _REFINE_BOOTSTRAP
    )
    return (
        float(roc_auc_score(labels, refined_margin)),
        float(roc_auc_score(labels, global_margin)),
        low,
        high,
    )
