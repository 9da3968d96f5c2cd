"""Query planning (between scoring and the fingerprint): choose which pool images, and which
ablated copies of them, to send to a paid API so that a few hundred queries give the same cue
verdict as sending everything, and estimate the API's accuracy on the whole pool from them.

  population.py   what the bank knows for free: eval-set images, probe difficulty, per-cue
                  informativeness from the probes' answers on clean and ablated images
  design.py       class-balanced importance draws and the design weights they imply
  accuracy.py     full-pool and per-class accuracy (post-stratified by probe difficulty)
  cue_state.py    when a cue is decided, undecidable, or still missing evidence
  planner.py      the rounds: send, update every cue's CI, spend where a verdict is undecided
"""
from .accuracy import PoolAccuracy, estimate_pool_accuracy
from .design import DrawLedger
from .planner import PlanResult, QueryPlanner, plan_summary
from .population import PlanningData, load_planning_data

__all__ = ["DrawLedger", "PlanResult", "PlanningData", "PoolAccuracy", "QueryPlanner",
           "estimate_pool_accuracy", "load_planning_data", "plan_summary"]
