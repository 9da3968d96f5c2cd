"""Stage 9: the whole pipeline from one config (``evalkit run``), local or on Ray.

    from evalkit.pipeline import run
    result = run("configs/demo.toml")      # -> RunResult(report=..., timings=..., total_seconds=...)
"""
from .config import ApiEntry, PipelineConfig, load_config
from .executors import LocalExecutor, RayExecutor, Task, make_executor
from .run import STAGE_TITLES, RunResult, StageTiming, run
from .stages import (discover_stage, explain_stage, fingerprint_stage, heldout_stage, open_dataset,
                     report_stage, sample_stage, score_stage, train_stage)

__all__ = ["ApiEntry", "LocalExecutor", "PipelineConfig", "RayExecutor", "RunResult", "STAGE_TITLES",
           "StageTiming", "Task", "discover_stage", "explain_stage", "fingerprint_stage", "heldout_stage",
           "load_config", "make_executor", "open_dataset", "report_stage", "run", "sample_stage",
           "score_stage", "train_stage"]
