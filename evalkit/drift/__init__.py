"""Did the API change? Paired comparison of two runs of one API (accuracy, flips, cue scores)."""
from .compare import COMPARISON, compare_answers, compare_runs

__all__ = ["COMPARISON", "compare_answers", "compare_runs"]
