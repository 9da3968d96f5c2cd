"""Stage 4: discriminative evaluation sets that hold on unseen probe seeds.

correctness matrix (probe x seed x image) -> seed split (selection / validation halves) ->
subsets per ordered probe pair and per probe-vs-rest, chosen on selection seeds ->
validation on held-out seeds (bootstrap CI, exact McNemar, random baseline, Holm) ->
label audit -> evaluation sets stored in the workspace and exportable as image folders.
"""
from .audit import SuspectImage, audit_labels, suspect_mask
from .correctness import (CorrectnessMatrix, SeedSplit, load_correctness, matrix_from_probs,
                          mean_correctness, split_seeds)
from .discover import DiscoveryResult, DiscoverySettings, SubsetResult, discover, summary_table
from .export import export_set
from .run import DiscoveryRun, discover_workspace
from .selection import SubsetSpec, choose_subset, select_subsets, subset_specs
from .stats import GapEstimate, gap_with_ci, holm, mcnemar_exact
from .store import load_discovery, store_discovery

__all__ = [
    "CorrectnessMatrix", "SeedSplit", "load_correctness", "matrix_from_probs", "mean_correctness",
    "split_seeds", "SuspectImage", "audit_labels", "suspect_mask", "DiscoveryResult",
    "DiscoverySettings", "SubsetResult", "discover", "summary_table", "export_set", "SubsetSpec",
    "choose_subset", "select_subsets", "subset_specs", "GapEstimate", "gap_with_ci", "holm",
    "mcnemar_exact", "DiscoveryRun", "discover_workspace", "load_discovery", "store_discovery",
]
