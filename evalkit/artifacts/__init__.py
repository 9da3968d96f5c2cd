"""The contract between stages, in code: catalog kinds, typed keys, the image hash, readers and
writers of the files one stage hands to the next, evaluation pools and the probe staleness check.

Every stage, the CLI, the report and the pipeline go through this package; none formats or
parses another stage's keys or files by hand.
"""
from .files import (Predictions, load_evalset, model_file, load_evalsets, load_pool_labels, load_pool_predictions,
                    load_scores, model_rows, predictions_bytes, predictions_rows, read_evalset,
                    read_json, read_npz, read_predictions, read_scores, single_pool, write_evalset, write_predictions_file,
                    write_scores)
from .keys import (DISCOVERY, EVALSET, EXPLANATION, FINGERPRINT, FINGERPRINT_REFERENCE, KINDS, MINISET,
                   MODEL, PIPELINE, POOL, PREDICTIONS, REPORT, SCORES, ExplanationKey, MinisetKey, ModelKey,
                   Pool, PredictionsKey, evalset_path, image_hash, scores_path)
from .pools import check_pool_dataset, open_pool_dataset, pool_info, pool_of, record_pool
from .staleness import drop_run, model_inputs, model_settings, needs_training, recorded_run, stale_reason

__all__ = [
    "DISCOVERY", "EVALSET", "EXPLANATION", "FINGERPRINT", "FINGERPRINT_REFERENCE", "KINDS", "MINISET",
    "MODEL", "PIPELINE", "POOL", "PREDICTIONS", "REPORT", "SCORES", "ExplanationKey", "MinisetKey",
    "ModelKey", "Pool", "PredictionsKey", "Predictions", "check_pool_dataset", "drop_run", "evalset_path",
    "image_hash", "load_evalset", "load_evalsets", "load_pool_labels", "load_pool_predictions", "load_scores",
    "model_file", "model_inputs", "model_rows", "model_settings", "needs_training", "open_pool_dataset",
    "predictions_bytes", "predictions_rows", "read_evalset", "read_json", "read_npz", "read_predictions",
    "read_scores",
    "record_pool", "pool_info", "pool_of", "recorded_run", "scores_path", "single_pool", "stale_reason",
    "write_evalset", "write_predictions_file", "write_scores",
]
