"""The MLflow model registry: register a SegmentedModel, load it back without pickle, promote.

Registered names are `<prefix>-<target>` (retain-churn, retain-expansion). A newly trained model
gets the alias "challenger"; `promote` moves "champion" and records who, when and why as tags of
the model version. Loading downloads the model's files and reads the LightGBM text boosters and
JSON through `SegmentedModel.load`: nothing is ever unpickled.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from retain.config import Config
from retain.errors import RetainError
from training.missing_policy import MissingPolicy
from training.segmented import SegmentedModel

CHAMPION = "champion"
CHALLENGER = "challenger"
# Model-version tag holding {file: SHA-256} of the model's artifact folder, recorded at
# registration and checked at every load: the registry database vouches for the files.
SHA256_TAG = "retain.artifact_sha256"
_PYFUNC_FILE = Path(__file__).with_name("pyfunc_model.py")


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    alias: str | None = None


def artifact_digests(folder: str | Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under `folder`."""
    folder = Path(folder)
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return digests


def digest_of(digests: dict[str, str]) -> str:
    """One SHA-256 for a whole folder: of its sorted `path sha256` lines."""
    lines = "".join(f"{path} {sha}\n" for path, sha in sorted(digests.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def verify_digests(found: dict[str, str], recorded: dict[str, str], what: str) -> None:
    """RetainError naming the first file that differs from what was recorded."""
    for path in sorted(set(found) | set(recorded)):
        if path not in found:
            raise RetainError(f"{what}: file {path} recorded at registration is missing")
        if path not in recorded:
            raise RetainError(f"{what}: file {path} was not there at registration")
        if found[path] != recorded[path]:
            raise RetainError(
                f"{what}: {path} has SHA-256 {found[path][:16]}..., registered "
                f"{recorded[path][:16]}...; the artifact changed after registration, so it is "
                "refused (register the model again)"
            )


def model_name(target: str, config: Config | None = None) -> str:
    config = config or Config()
    return f"{config.tracking.registered_model_prefix}-{target}"


def _client(config: Config) -> Any:
    from training.tracking import configure_mlflow

    configure_mlflow(config)
    from mlflow import MlflowClient

    return MlflowClient()


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{package}=={version(package)}"
        for package in ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn")
    ]


def log_and_register(
    model: SegmentedModel,
    frame_sample: pd.DataFrame,
    *,
    config: Config | None = None,
    alias: str = CHALLENGER,
    tags: dict[str, str] | None = None,
) -> ModelRef:
    """Log `model` as a models-from-code pyfunc in the active run (or a new one), register it
    as `retain-<target>` and point `alias` at the new version.

    `frame_sample` holds the model's training rows: the missing-value policy
    (training.missing_policy) is recorded from them and saved beside the model."""
    import mlflow
    from mlflow.models import infer_signature

    config = config or Config()
    client = _client(config)
    name = model_name(model.target, config)
    example = frame_sample[["segment", *model.feature_names_]].head(5).copy()
    with tempfile.TemporaryDirectory(prefix="retain-model-") as tmp:
        saved = model.save(Path(tmp) / "segmented_model")
        MissingPolicy.from_model(model, frame_sample).save(saved)
        digests = artifact_digests(saved)
        from training.pyfunc_model import ARTIFACT_KEY, SegmentedModelPyfunc

        wrapper = SegmentedModelPyfunc()
        wrapper.model = model
        signature = infer_signature(example, wrapper.predict(None, example))
        active = mlflow.active_run()
        if active is None:
            # Name the experiment: MLflow otherwise reuses the id it cached for a previous store.
            mlflow.set_experiment(config.tracking.experiment)
            mlflow.start_run(run_name=f"register {name}")
        try:
            info = mlflow.pyfunc.log_model(
                name=f"{model.target}_model",
                python_model=str(_PYFUNC_FILE),
                artifacts={ARTIFACT_KEY: str(saved)},
                signature=signature,
                input_example=example,
                pip_requirements=_pip_requirements(),
                registered_model_name=name,
            )
        finally:
            if active is None:
                mlflow.end_run()
    version = str(info.registered_model_version)
    client.set_model_version_tag(name, version, SHA256_TAG, json.dumps(digests, sort_keys=True))
    for key, value in (tags or {}).items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, alias, version)
    return ModelRef(name=name, version=version, alias=alias)


SURVIVAL_TAG = "survival_model_uri"  # on a churn model version: its time-to-churn model
SURVIVAL_SHA256_TAG = "retain.survival_sha256"  # {file: SHA-256} of those artifacts


def log_survival(model: Any, churn: ModelRef, config: Config | None = None) -> str:
    """Log a fitted `training.survival.SurvivalModel` (text booster + JSON) as artifacts of the
    active run and point the churn model version at it (tag SURVIVAL_TAG): the curve is anchored
    to that churn model, so it is promoted and served with it."""
    import mlflow

    config = config or Config()
    client = _client(config)
    run = mlflow.active_run()
    if run is None:
        raise RetainError("log_survival needs an active MLflow run (the training run)")
    with tempfile.TemporaryDirectory(prefix="retain-survival-") as tmp:
        saved = model.save(Path(tmp) / "survival_model")
        mlflow.log_artifacts(str(saved), artifact_path="survival_model")
        digests = artifact_digests(saved)
    uri = f"runs:/{run.info.run_id}/survival_model"
    client.set_model_version_tag(churn.name, churn.version, SURVIVAL_TAG, uri)
    client.set_model_version_tag(
        churn.name, churn.version, SURVIVAL_SHA256_TAG, json.dumps(digests, sort_keys=True)
    )
    return uri


def load_survival(churn: ModelRef, config: Config | None = None) -> Any | None:
    """The SurvivalModel trained with churn model version `churn`, or None (trained without)."""
    import mlflow

    from training.survival import SurvivalModel

    config = config or Config()
    tags = _client(config).get_model_version(churn.name, churn.version).tags
    uri = tags.get(SURVIVAL_TAG)
    if not uri:
        return None
    what = f"the survival model of {churn.name} version {churn.version}"
    if SURVIVAL_SHA256_TAG not in tags:
        raise RetainError(f"{what} has no recorded SHA-256; train it again (`retain train`)")
    with tempfile.TemporaryDirectory(prefix="retain-load-survival-") as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp)
        verify_digests(artifact_digests(local), json.loads(tags[SURVIVAL_SHA256_TAG]), what)
        return SurvivalModel.load(local)


def _version_by_alias(client: Any, name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def version_of(target: str, alias: str, config: Config | None = None) -> str | None:
    """The version `alias` of retain-<target> points at, or None."""
    config = config or Config()
    found = _version_by_alias(_client(config), model_name(target, config), alias)
    return None if found is None else str(found.version)


def resolve_alias(
    target: str, alias: str = CHAMPION, config: Config | None = None, *, allow_challenger: bool
) -> ModelRef:
    """The concrete version `alias` points at now.

    With no champion, `allow_challenger` decides whether the challenger (a model no gate has
    vetted) may stand in; without it that is an error saying how to allow it.
    """
    config = config or Config()
    client = _client(config)
    name = model_name(target, config)
    version = _version_by_alias(client, name, alias)
    if version is not None:
        return ModelRef(name=name, version=str(version.version), alias=alias)
    where = config.tracking.resolved_tracking_uri()
    if alias == CHAMPION:
        challenger = _version_by_alias(client, name, CHALLENGER)
        if challenger is not None and allow_challenger:
            return ModelRef(name=name, version=str(challenger.version), alias=CHALLENGER)
        if challenger is not None:
            raise RetainError(
                f"Registered model {name!r} has no champion in {where}, only a challenger "
                f"(version {challenger.version}) that no promotion gate has vetted; promote it "
                "(`retain promote`) or pass --allow-challenger to use it anyway"
            )
    raise RetainError(
        f"No registered model {name!r} with alias {alias!r} in {where}; run `retain train` "
        "first (or set MLFLOW_TRACKING_URI to the store that holds it)"
    )


@dataclass(frozen=True)
class RegisteredModel:
    """A registered version loaded for serving: the model, its missing-value policy, its ref
    and the SHA-256 of its artifact folder (checked against the registry's record)."""

    model: SegmentedModel
    missing_policy: MissingPolicy
    ref: ModelRef
    sha256: str


def load_version(target: str, ref: ModelRef, config: Config | None = None) -> RegisteredModel:
    """Download version `ref.version` of retain-<target>, check every file against the SHA-256
    recorded at registration, and read it (without pickle)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from training.pyfunc_model import ARTIFACT_KEY

    config = config or Config()
    client = _client(config)
    what = f"{ref.name} version {ref.version}"
    try:
        tags = client.get_model_version(ref.name, ref.version).tags
    except MlflowException as error:
        raise RetainError(
            f"Registered model {ref.name!r} has no version {ref.version} in "
            f"{config.tracking.resolved_tracking_uri()}"
        ) from error
    if SHA256_TAG not in tags:
        raise RetainError(
            f"{what} has no recorded artifact SHA-256 (registered by an older retain); "
            "register it again (`retain train`) so its files can be verified"
        )
    recorded = json.loads(tags[SHA256_TAG])
    with tempfile.TemporaryDirectory(prefix="retain-load-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{ref.name}/{ref.version}", dst_path=tmp
        )
        folder = Path(local) / "artifacts" / ARTIFACT_KEY
        found = artifact_digests(folder)
        verify_digests(found, recorded, what)
        model = SegmentedModel.load(folder)
        policy = MissingPolicy.load(folder)
    return RegisteredModel(model=model, missing_policy=policy, ref=ref, sha256=digest_of(found))


def load_registered(
    target: str,
    alias: str = CHAMPION,
    config: Config | None = None,
    *,
    allow_challenger: bool = True,
) -> tuple[SegmentedModel, ModelRef]:
    """The model behind `alias` (falling back from champion to challenger when
    `allow_challenger`), without pickle."""
    config = config or Config()
    ref = resolve_alias(target, alias, config, allow_challenger=allow_challenger)
    loaded = load_version(target, ref, config)
    return loaded.model, loaded.ref


def set_alias(
    target: str, alias: str, version: str | int, config: Config | None = None
) -> ModelRef:
    """Point `alias` of `retain-<target>` at `version` (which must exist)."""
    from mlflow.exceptions import MlflowException

    config = config or Config()
    client = _client(config)
    name = model_name(target, config)
    try:
        client.get_model_version(name, str(version))
    except MlflowException as error:
        raise RetainError(
            f"Registered model {name!r} has no version {version} in "
            f"{config.tracking.resolved_tracking_uri()}"
        ) from error
    client.set_registered_model_alias(name, alias, str(version))
    return ModelRef(name=name, version=str(version), alias=alias)


def promote(target: str, version: str | int, reason: str, config: Config | None = None) -> ModelRef:
    """Move "champion" to `version` and record promoted_by / promoted_at / promotion_reason."""
    config = config or Config()
    if not reason.strip():
        raise RetainError("A promotion needs a reason (--reason)")
    ref = set_alias(target, CHAMPION, version, config)
    client = _client(config)
    tags = {
        "promoted_by": getpass.getuser(),
        "promoted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "promotion_reason": reason,
    }
    for key, value in tags.items():
        client.set_model_version_tag(ref.name, ref.version, key, value)
    return ref
