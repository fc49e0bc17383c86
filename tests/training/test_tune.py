from __future__ import annotations

import numpy as np
import optuna
import pytest

from training import labelled_rows
from training._design import DesignSpec
from training.tune import study_name, tune_booster, tune_target


class _Interrupt(Exception):
    """Stands in for a killed process: raised from a trial callback, it ends the run."""


def _matrices(frame):
    rows = labelled_rows(frame, "churn")
    spec = DesignSpec.from_frame(rows)
    x = spec.matrix(rows)
    y = rows["churn"].to_numpy(dtype=int)
    valid = (rows["as_of"] >= rows["as_of"].max() - np.timedelta64(60, "D")).to_numpy()
    return spec, x[~valid], y[~valid], x[valid], y[valid]


def test_interrupted_study_resumes_from_its_trials(frame, config, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    spec, x_train, y_train, x_valid, y_valid = _matrices(frame)
    kwargs = dict(
        feature_names=list(spec.feature_names),
        categorical=spec.categorical_indices,
        config=config,
        name="retain:churn:SMB",
        n_trials=5,
        storage=storage,
    )
    seen: list[int] = []

    def stop_after_two(study, trial) -> None:
        seen.append(trial.number)
        if len(seen) == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        tune_booster(x_train, y_train, x_valid, y_valid, on_trial=stop_after_two, **kwargs)
    first = optuna.load_study(study_name="retain:churn:SMB", storage=storage).trials
    assert [t.number for t in first] == [0, 1]
    result = tune_booster(x_train, y_train, x_valid, y_valid, **kwargs)
    trials = optuna.load_study(study_name="retain:churn:SMB", storage=storage).trials
    assert len(trials) == 5
    # The first two trials are the interrupted run's, untouched; only three new ones ran.
    assert [t.params for t in trials[:2]] == [t.params for t in first]
    assert result.n_complete + result.n_pruned == 5
    assert 0.5 < result.best_value <= 1.0
    # Asking again for 5 trials runs none.
    again = tune_booster(x_train, y_train, x_valid, y_valid, **kwargs)
    assert again.best_params == result.best_params
    assert len(optuna.load_study(study_name="retain:churn:SMB", storage=storage).trials) == 5


def test_tune_target_has_one_study_per_own_segment_plus_global(frame, config, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    rows = labelled_rows(frame, "churn")
    logged: list[tuple[str, int]] = []

    def on_study(segment):
        return lambda study, trial: logged.append((segment, trial.number))

    results = tune_target(
        rows, "churn", config, 2, experiment="exp", storage=storage, on_study=on_study
    )
    assert set(results) == {"__global__", "Mid-Market", "SMB"}
    assert sorted(logged) == sorted((s, n) for s in results for n in (0, 1))
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    assert names == {study_name("exp", "churn", s) for s in results}
