"""The one-line verdict of a comparison and the method text shown beside it."""
from __future__ import annotations

METHOD = (
    "Paired comparison on the images both runs answered (an abstention counts as wrong for "
    "accuracy and as an answer for flips). Change of accuracy = acc(B) - acc(A) with Newcombe's "
    "square-and-add 95% interval for paired proportions (method 10); p-values: exact McNemar test "
    "(two-sided binomial on the images right in one run only), Holm-adjusted across evaluation sets. "
    "Flip rate: share of images whose answer changed, Wilson 95% interval. Cue scores: the "
    "fingerprint's computation on each run's answers; their change has a paired-bootstrap 95% "
    "percentile interval (the same image resamples for both runs) and a two-sided bootstrap "
    "p-value, Holm-adjusted across cues. An accuracy change is reported when its adjusted p-value is "
    "below alpha; a cue change when, in addition, it is at least the relevance margin (0.5 on the "
    "relative scale: half the span from a cue-blind probe to a standard CNN), since two seeds of "
    "one CNN differ measurably but not by that much.")


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def _pts(x: float) -> str:
    v = 100 * abs(x)
    return f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def _acc_phrase(where: str, row: dict) -> str:
    diff, lo, hi = row["diff"], row["lo"], row["hi"]
    if diff < 0:
        return f"accuracy on {where} fell {_pts(diff)} points [{_pts(hi)}, {_pts(lo)}]"
    return f"accuracy on {where} rose {_pts(diff)} points [{_pts(lo)}, {_pts(hi)}]"


def verdict_sentence(doc: dict) -> tuple[str, bool]:
    """("no detectable change (...)" | "changed: ...; cue reliance changed: ...", changed?)."""
    parts = []
    sets = sorted((s for s in doc["sets"] if s.get("changed")), key=lambda s: -abs(s["diff"]))
    if sets:
        text = "; ".join(f"{_acc_phrase(s['id'], s)} ({_p(s['p_holm'])})" for s in sets[:3])
        parts.append("changed: " + text + (f" and on {len(sets) - 3} more set(s)" if len(sets) > 3 else ""))
    elif doc["overall"].get("changed"):
        parts.append(f"changed: {_acc_phrase('all images', doc['overall'])} ({_p(doc['overall']['p'])})")
    cues = [c for c in doc["cues"] if c.get("changed")]
    if cues:
        parts.append("cue reliance changed: " + ", ".join(
            f"{c['label']} {c['score_a']:.2f} -> {c['score_b']:.2f} ({c['diff']:+.2f} [{c['lo']:+.2f}, "
            f"{c['hi']:+.2f}], {_p(c['p_holm'])})" for c in cues))
    if parts:
        return "; ".join(parts), True
    f = doc["overall"]["flips"]
    if f["flips"] == 0:
        return f"no detectable change (no answer changed on {f['n']} images)", False
    return (f"no detectable change in accuracy or cue reliance ({f['flips']} of {f['n']} answers changed, {100 * f['rate']:.1f}% "
            f"[{100 * f['lo']:.1f}, {100 * f['hi']:.1f}])"), False
