"""Stage 7: evidence and verdict on which cue a classifier relies on (the bias fingerprint)."""
from .build import fingerprint_from_trials
from .cues import CUES, CueSpec
from .evidence import EvalSetSpec, Trials, compute_replicates, summarize
from .verdict import VerdictSettings

__all__ = ["CUES", "CueSpec", "EvalSetSpec", "Trials", "VerdictSettings", "compute_replicates",
           "fingerprint_from_trials", "summarize"]
