"""Is a recorded probe run still what is asked for? The one staleness check of trained probes,
used by `evalkit probes train` and `evalkit run` alike."""
from __future__ import annotations

from ..workspace import Artifact, Workspace
from .keys import EXPLANATION, MODEL, PREDICTIONS, ExplanationKey, ModelKey, PredictionsKey


def model_inputs(spec, dataset, miniset: str) -> dict:
    """What a trained run is made from (recorded as the model row's ``inputs``)."""
    return {"probe_file_sha256": spec.sha256, "miniset": miniset, "dataset_sha256": dataset.source_sha256}


def model_settings(*, train_size: int, epochs: int, batch_size: int) -> dict:
    """How a run was trained (recorded as the model row's ``settings``)."""
    return {"train_size": train_size, "epochs": epochs, "batch_size": batch_size}


def stale_reason(art: Artifact, spec, dataset, *, train_size: int, epochs: int, batch_size: int) -> str | None:
    """Why the recorded run ``art`` no longer matches what is asked (None if it still does)."""
    if art.inputs.get("probe_file_sha256") != spec.sha256:
        return f"{spec.path} changed since it was trained"
    if art.inputs.get("dataset_sha256") != dataset.source_sha256:
        return "the dataset source changed"
    asked = {"train_size": train_size, "epochs": epochs, **({"batch_size": batch_size} if spec.is_keras else {})}
    changed = [f"{k} {art.settings.get(k)} -> {v}" for k, v in asked.items() if art.settings.get(k) != v]
    return ", ".join(changed) or None


def recorded_run(ws: Workspace, spec, seed: int, dataset, **settings) -> tuple[Artifact | None, str | None]:
    """(recorded run of (probe, seed) or None, why it is stale or None). Reads only."""
    art = ws.catalog.get(MODEL, str(ModelKey(spec.name, seed)))
    return art, (None if art is None else stale_reason(art, spec, dataset, **settings))


def needs_training(ws: Workspace, spec, seed: int, dataset, pool, **settings) -> str | None:
    """Why (probe, seed) must be trained or predicted now ("not trained", the stale reason,
    "no predictions on POOL"), or None when the recorded run and its predictions are current."""
    art, reason = recorded_run(ws, spec, seed, dataset, **settings)
    if art is None:
        return "not trained"
    if reason is not None:
        return reason
    if ws.catalog.get(PREDICTIONS, str(PredictionsKey(ModelKey(spec.name, seed), pool))) is None:
        return f"no predictions on {pool}"
    return None


def drop_run(ws: Workspace, key: ModelKey) -> None:
    """Forget a stale run with its predictions and explanations, so it is made again."""
    for pred in ws.catalog.list(PREDICTIONS):
        if PredictionsKey.parse(pred.key).model == key:
            ws.catalog.delete(PREDICTIONS, pred.key)
    for expl in ws.catalog.list(EXPLANATION):
        if ExplanationKey.parse(expl.key).model == key:
            ws.catalog.delete(EXPLANATION, expl.key)
    ws.catalog.delete(MODEL, str(key))
