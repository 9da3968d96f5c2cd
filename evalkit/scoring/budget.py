"""Money budgets of a scoring run: ``--budget`` (this run) and the API file's ``budget_total``
(every run, checked against the spend ledger in the cache). Shared by both ways of scoring."""
from __future__ import annotations

import math

from ..errors import UserError


def check_budget(value: float | None, what: str = "--budget") -> float | None:
    """None, or a finite amount >= 0 (else a one-line UserError)."""
    if value is None:
        return None
    try:
        amount = float(value)
    except (TypeError, ValueError):
        amount = math.nan
    if isinstance(value, bool) or not math.isfinite(amount) or amount < 0:
        raise UserError(f"{what} must be a finite number >= 0, got {value!r}")
    return amount


def paid_query_cap(budget: float | None, budget_total: float | None, spent_cost: float,
                   price_per_1000: float) -> int | None:
    """How many paid queries this run may send: within ``budget`` (this run) and within what
    ``budget_total`` leaves after ``spent_cost`` (the ledger total); None = no money cap."""
    per_query = price_per_1000 / 1000.0
    if per_query <= 0:
        return None
    caps = [b for b in (budget, None if budget_total is None else max(0.0, budget_total - spent_cost))
            if b is not None]
    if not caps:
        return None
    return max(0, int(math.floor(min(caps) / per_query + 1e-9)))


def budget_note(config, spent_cost: float) -> str | None:
    """A line about the cumulative budget, or None when the API file sets none."""
    if config.budget_total is None:
        return None
    left = max(0.0, config.budget_total - spent_cost)
    return (f"{config.name}: spent {spent_cost:.4f} in all runs; budget_total {config.budget_total:g} "
            f"leaves {left:.4g}")
