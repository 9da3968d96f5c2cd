"""The query planner: send in rounds, update every cue's CI, spend where a verdict is undecided.

Round 1 spends ``accuracy_share`` of the whole budget on a difficulty-stratified sample of the
pool (clean images: the full-set accuracy estimate); the rest is shared by the rounds, and a
round's share by the cues still undecided. Each cue draws eval-set images by informativeness
(design.py) and asks for the clean image and the cue's ablated copies; half of a cue's share
goes to clean images of its standard-vs-blind preference sets, spread evenly over the sets.
After each round the fingerprint evidence is recomputed with design weights; a cue is *decided*
when its verdict is not inconclusive and stays the same with a 99% instead of a 95%
image-sampling interval (a margin against stopping on a lucky round), and *undecidable* when
even a sampling error of 0 would leave it inconclusive at every point estimate inside its 95%
sampling interval (the cue's CI also holds the spread between reference models, which no number
of queries narrows: more probe seeds do); neither while a component of the cue still lacks
answers (cue_state.py). Later rounds go to the undecided cues, and to the
undecidable ones only when no undecided cue is left: "undecidable" is itself judged from a sample
(on the demo-scale bank, stopping on it cost regressions at 2,000 queries, bench/RESULTS.md), so
the planner stops early only when every cue is decided; otherwise it spends the budget
(``stop_undecidable=True`` also stops when every open cue is undecidable). Answers already known
(cache, earlier runs) cost nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..fingerprint.evidence import Trials
from ..fingerprint.inputs import build_trials
from ..fingerprint.verdict import VerdictSettings
from .accuracy import PoolAccuracy, estimate_pool_accuracy
from .cue_state import SAMPLING_MARGIN, cue_state, cue_status  # noqa: F401  (re-exported)
from .design import DrawLedger, difficulty_strata, neyman_allocation
from .population import PlanningData

Request = tuple[int, str]          # (pool index, transform; '' = the clean image)
Ask = Callable[[list[Request]], tuple[dict[Request, int | None], int]]


@dataclass(frozen=True)
class PlanResult:
    """Answers bought (and reused), the ledger behind their weights, and what each round did."""

    answers: dict[int, int | None]
    ablation_answers: dict[str, dict[int, int | None]]
    ledger: DrawLedger
    rounds: tuple[dict, ...]
    queries: int                   # paid for in this run
    spent_queries: int             # paid for by the plan so far (all runs)
    stopped: str                   # 'decided' | 'budget' | 'rounds'
    verdicts: dict[str, str]       # cue -> verdict after the last round
    accuracy: PoolAccuracy | None


def weighted_trials(data: PlanningData, ledger: DrawLedger, answers, ablation_answers) -> Trials:
    """The fingerprint's Trials over the answered images, with the ledger's design weights."""
    trials = build_trials(data.docs, data.labels, data.probes, answers, ablation_answers,
                          data.reference or None, data.population if data.reference else None)
    return dataclasses.replace(
        trials, weights=ledger.weights(trials.index), probes_on_population=True,
        ablation_weights={t: ledger.weights(trials.index, t) for t in trials.model_ablation})


# Share of the budget for the full-pool accuracy sample. An expected absolute error of ~2 points
# (MAE ~ 0.8 sd) needs sd <= 2.5 points, i.e. ~400 simple random answers at p = 0.5, or ~300 with
# the stratification and the cue answers helping (bench/bench_pool_accuracy.py measured sd 2.3-2.6
# points with 200): 30% of a 1,000-query budget.
ACCURACY_SHARE = 0.3
TOP_UPS = 20                        # further draws per round while its share is not yet sent


class QueryPlanner:
    """Chooses queries for one API. Parameters are stored; the RNG is built per round from
    ``seed`` and the round number, so the same budget and answers give the same plan."""

    def __init__(self, data: PlanningData, *, max_queries: int, rounds: int = 4,
                 accuracy_share: float = ACCURACY_SHARE, defensive: float = 0.3, seed: int = 0,
                 n_boot: int = 1000, boot_seed: int = 0, stop_undecidable: bool = False,
                 settings: VerdictSettings | None = None):
        if max_queries < 0 or rounds < 1 or not 0 <= accuracy_share < 1 or not 0 < defensive <= 1:
            raise ValueError("max_queries >= 0, rounds >= 1, 0 <= accuracy_share < 1, 0 < defensive <= 1")
        self.data, self.max_queries, self.rounds = data, int(max_queries), int(rounds)
        self.accuracy_share, self.defensive, self.seed = accuracy_share, defensive, seed
        # the fingerprint's own bootstrap (fingerprint_api: 1,000 replicates, seed 0), so a cue the
        # planner calls decided has the verdict the report shows (with 300 replicates the heavy
        # tails of the reference spread moved a CI end across a level between the two)
        self.n_boot, self.boot_seed, self.settings = n_boot, boot_seed, settings or VerdictSettings()
        self.stop_undecidable = stop_undecidable

    @property
    def cues(self) -> list[str]:
        return list(self.data.cue_ablations)

    def strata(self) -> np.ndarray:
        return difficulty_strata(self.data.labels, self.data.difficulty)

    def _cues_to_ask(self, status: dict) -> list[str]:
        """The cues the next round spends on: those not decided, undecidable ones last (only
        when no other is left, unless ``stop_undecidable``): "undecidable" is itself judged from
        the answers so far, so it ranks the cues but does not end the plan while budget is left."""
        open_cues = [c for c in self.cues if not status.get(c, {}).get("decided")]
        undecided = [c for c in open_cues if not status.get(c, {}).get("undecidable")]
        return undecided or ([] if self.stop_undecidable else open_cues)

    def _cue_requests(self, rng, ledger: DrawLedger, cues: list[str], budget: int, per_cue: dict) -> list[Request]:
        """Draw ``budget`` queries' worth for ``cues`` (an equal share each; half of a share to
        clean preference-set images when the cue has sets); counts go to ``per_cue``."""
        d, requests = self.data, []
        for c in cues if budget > 0 else []:
            abls = d.cue_ablations[c]
            share = budget // len(cues)
            sets = d.preference_sets.get(c, [])
            n_pref = share // 2 if sets else 0       # clean images of the preference sets
            n = (share - n_pref) // (1 + len(abls))  # images with the cue's ablated copies
            drawn = ledger.cue_draws(rng, d.population, d.labels, d.informativeness[c], n, abls, self.defensive)
            requests += [(int(i), v) for i in drawn for v in ("", *abls)]
            if n_pref:
                requests += [(int(i), "") for i in ledger.set_draws(rng, sets, n_pref)]
            got = per_cue.setdefault(c, {"ablation_draws": 0, "preference_draws": 0})
            got["ablation_draws"] += int(n)
            got["preference_draws"] += int(n_pref)
        return requests

    def accuracy_queries(self) -> int:
        return int(self.accuracy_share * self.max_queries)

    def run(self, ask: Ask, *, ledger: DrawLedger | None = None, answers=None, ablation_answers=None,
            spent: int = 0, first_round: int = 0, echo=lambda s: None) -> PlanResult:
        """Plan and send rounds through ``ask`` (returns answers and the number of paid queries);
        continue an earlier plan by passing its ledger, answers and spent count."""
        d = self.data
        transforms = sorted({t for ts in d.cue_ablations.values() for t in ts})
        ledger = ledger or DrawLedger(d.n_pool, transforms)
        for t in transforms:
            ledger.add_transform(t)
        answers = dict(answers or {})
        abl = {t: dict((ablation_answers or {}).get(t, {})) for t in transforms}
        asked: set[Request] = {(i, "") for i in answers} | {(i, t) for t, a in abl.items() for i in a}
        strata = self.strata()
        remaining, paid_now, rounds, status = self.max_queries - spent, 0, [], {}
        stopped = "rounds"
        if answers:
            status = cue_status(weighted_trials(d, ledger, answers, abl), self.settings, self.n_boot, self.boot_seed)
        for r in range(self.rounds):
            to_ask = self._cues_to_ask(status)
            if not to_ask and (first_round + r > 0 or not self.accuracy_queries()):
                stopped = "decided"
                break
            if remaining <= 0:
                stopped = "budget"
                break
            rng = np.random.default_rng([self.seed, first_round + r])
            requests: list[Request] = []
            n_acc = 0
            if first_round + r == 0:
                # the accuracy sample comes off the top of the whole budget, the rounds share the
                # rest; no cue to decide (no ablations): the whole budget goes to the sample
                n_acc = min(self.accuracy_queries(), remaining) if self.cues else remaining
                drawn = ledger.accuracy_draws(rng, strata, neyman_allocation(strata, d.difficulty, d.labels, n_acc))
                requests += [(int(i), "") for i in drawn]
            budget = (remaining - n_acc) // (self.rounds - r)
            per_cue: dict[str, dict] = {}
            requests += self._cue_requests(rng, ledger, to_ask, budget, per_cue)
            new = list(dict.fromkeys(q for q in requests if q not in asked))
            # draws are with replacement, so a round's requests repeat earlier ones (often on a
            # small eval set): top up with further draws, recorded like the first, until the
            # round's share is sent or the draws stop finding unasked images
            for _ in range(TOP_UPS):
                short = n_acc + budget - len(new)
                if short < len(to_ask) * (1 + max((len(d.cue_ablations[c]) for c in to_ask), default=0)):
                    break
                seen = asked.union(new)
                more = list(dict.fromkeys(q for q in self._cue_requests(rng, ledger, to_ask, short, per_cue)
                                          if q not in seen))
                new += more
                if not more:
                    break
            got, paid = ask(new)
            asked.update(new)
            for (i, t), label in got.items():
                (answers if t == "" else abl[t])[int(i)] = label
            remaining -= paid
            paid_now += paid
            status = cue_status(weighted_trials(d, ledger, answers, abl), self.settings, self.n_boot, self.boot_seed)
            rounds.append({"round": first_round + r + 1, "accuracy_draws": n_acc, "cue_draws": per_cue,
                           "queries": int(paid), "requests": len(new),
                           "verdicts": {c: s["verdict"] for c, s in status.items()},
                           "decided": [c for c, s in status.items() if s["decided"]],
                           "undecidable": [c for c, s in status.items() if s["undecidable"]]})
            echo(f"round {first_round + r + 1}: {paid} queries; "
                 + ", ".join(f"{c} {s['verdict']}" + ("" if s["decided"] else " (more queries cannot decide it)"
                                                   if s["undecidable"] else " (undecided)")
                            for c, s in status.items()))
        else:
            if not self._cues_to_ask(status):
                stopped = "decided"
            elif remaining <= 0:
                stopped = "budget"
        acc = estimate_pool_accuracy(ledger, answers, d.labels, strata, n_boot=1000, seed=self.seed)
        return PlanResult(answers, abl, ledger, tuple(rounds), paid_now, spent + paid_now, stopped,
                          {c: s["verdict"] for c, s in status.items()}, acc)


def plan_summary(planner: QueryPlanner, price_per_1000: float, spent: int = 0) -> list[str]:
    """Lines for ``--dry-run``: the first round's queries per cue, the later rounds' shares and
    the worst-case cost (every planned query new)."""
    d = planner.data
    remaining = max(planner.max_queries - spent, 0)
    lines = [f"query plan: at most {remaining} queries in up to {planner.rounds} rounds "
             f"(worst case {remaining * price_per_1000 / 1000:.4f} at {price_per_1000:g} per 1000)"]
    if spent:
        lines.append(f"  continues this API's earlier plan, which has spent {spent} of max_queries "
                     f"{planner.max_queries}" + ("" if remaining else ": nothing left to send; raise --max-queries"))
    n_acc = min(planner.accuracy_queries(), remaining) if spent == 0 else 0
    if n_acc:
        lines.append(f"  round 1: {n_acc} clean pool images for the full-set accuracy "
                     f"(stratified by class x probe difficulty)")
    budget = (remaining - n_acc) // planner.rounds
    cues = planner.cues
    for c in cues:
        abls = d.cue_ablations[c]
        share = budget // len(cues)
        sets = d.preference_sets.get(c, [])
        n_pref = share // 2 if sets else 0
        n = (share - n_pref) // (1 + len(abls))
        lines.append(f"  round 1: {c}: {n} images x (clean + {', '.join(abls)}) = {n * (1 + len(abls))} queries"
                     + (f" + {n_pref} clean images of its {len(sets)} preference sets" if n_pref else ""))
    lines.append(f"  rounds 2-{planner.rounds}: about {budget} queries each, shared by the "
                 "cues still undecided; stops early when every cue is decided")
    return lines
