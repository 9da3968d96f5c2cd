"""Discovery core on synthetic correctness matrices whose answer is known."""
import numpy as np
import pytest

from discovery_helpers import noise_probs, planted_probs, probs_from_correct
from evalkit.discovery import (DiscoverySettings, audit_labels, choose_subset, discover, gap_with_ci,
                               holm, matrix_from_probs, mcnemar_exact, split_seeds, subset_specs)
from evalkit.errors import UserError

PROBES = ("color", "control", "shape", "texture")


def _matrix(labels, probs, pool="syn/test"):
    return matrix_from_probs(pool, probs, labels, np.array([f"img{i}" for i in range(labels.size)]))


def test_matrix_marks_argmax_correctness():
    labels = np.array([0, 1, 2, 1])
    p = np.array([[.8, .1, .1], [.6, .3, .1], [.1, .1, .8], [.2, .7, .1]], np.float16)
    m = _matrix(labels, {("a", 0): p, ("a", 1): p, ("b", 3): p[::-1].copy(), ("b", 4): p})
    assert m.rows == (("a", 0), ("a", 1), ("b", 3), ("b", 4))
    assert m.correct[0].tolist() == [True, False, True, True]
    assert m.cube("b").shape == (2, 4)
    np.testing.assert_allclose(m.p_true[0], [.8, .3, .8, .7], atol=1e-3)


def test_seed_split_is_deterministic_disjoint_and_refuses_single_seed():
    rng = np.random.default_rng(0)
    labels, probs = noise_probs(50, 3, ["a", "b"], range(5), rng)
    m = _matrix(labels, probs)
    s1, s2 = split_seeds(m, 0), split_seeds(m, 0)
    assert s1 == s2
    for p in ("a", "b"):
        assert len(s1.selection[p]) == 2 and len(s1.validation[p]) == 3
        assert sorted(s1.selection[p] + s1.validation[p]) == list(range(5))
    del probs[("b", 1)], probs[("b", 2)], probs[("b", 3)], probs[("b", 4)]
    with pytest.raises(UserError, match="probe.*b.*fewer than 2 seeds"):
        split_seeds(_matrix(labels, probs))


def test_specs_cover_ordered_pairs_and_rest():
    ids = [s.id for s in subset_specs(PROBES)]
    assert len(ids) == 4 * 3 + 4
    assert "control>shape" in ids and "shape>control" in ids and "texture>rest" in ids


def test_choose_subset_ranks_by_score_then_tiebreak_and_balances_classes():
    score = np.array([1.0, 0.5, 1.0, 0.0, 1.0, 0.5])
    tie = np.array([0.1, 0.9, 0.3, 0.9, 0.2, 0.0])
    labels = np.array([0, 0, 0, 1, 1, 1])
    idx, n_cand = choose_subset(score, tie, labels, size=3)
    assert idx.tolist() == [2, 4, 0] and n_cand == 5
    idx, _ = choose_subset(score, tie, labels, size=3, min_margin=0.5)
    assert sorted(idx.tolist()) == [0, 2, 4]
    idx, _ = choose_subset(score, tie, labels, size=4, balanced=True)
    assert idx.tolist() == [2, 4, 0, 5]  # class 0 best, class 1 best, class 0 2nd, class 1 2nd


def test_mcnemar_and_holm():
    a = np.array([1] * 12 + [0] * 2 + [1] * 5, float)
    b = np.array([0] * 12 + [1] * 2 + [1] * 5, float)
    p, na, nb = mcnemar_exact(a, b)
    assert (na, nb) == (12, 2)
    assert p == pytest.approx(0.012939, abs=1e-5)  # 2 * P(X <= 2), X ~ Bin(14, 1/2)
    from scipy.stats import binomtest
    for b_n in range(0, 31, 3):
        for c_n in range(0, 31, 4):
            if b_n + c_n:
                p, _, _ = mcnemar_exact(np.r_[np.ones(b_n), np.zeros(c_n)], np.r_[np.zeros(b_n), np.ones(c_n)])
                assert p == pytest.approx(binomtest(b_n, b_n + c_n, 0.5).pvalue, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


def test_bootstrap_ci_covers_true_gap_and_excludes_zero_for_clear_gap():
    rng = np.random.default_rng(1)
    a = [(rng.random((2, 200)) < 0.8).astype(float)]
    b = [(rng.random((2, 200)) < 0.3).astype(float)]
    est = gap_with_ci(a, b, rng=np.random.default_rng(0), n_boot=2000)
    assert est.lo < est.gap < est.hi
    assert 0.35 < est.lo and est.hi < 0.65 and est.hi - est.lo < 0.25
    est0 = gap_with_ci(a, a, rng=np.random.default_rng(0), n_boot=500)
    assert est0.gap == 0 and est0.lo <= 0 <= est0.hi


def test_planted_divergent_subsets_are_recovered():
    rng = np.random.default_rng(2)
    planted = {("shape", "texture"): np.arange(0, 150), ("color", "control"): np.arange(500, 650)}
    labels, probs = planted_probs(2000, 10, PROBES, range(4), planted, rng)
    res = discover(_matrix(labels, probs), DiscoverySettings(size=100, n_boot=500))
    by_id = {s.id: s for s in res.subsets}
    for (a, b), idx in planted.items():
        s = by_id[f"{a}>{b}"]
        assert s.kept, s.flags
        # 2 selection seeds cannot tell planted images from lucky noise images (A right twice,
        # B wrong twice); most of the subset must still be planted ones
        assert len(set(s.indices) & set(idx.tolist())) >= 70
        assert s.validation.gap > 0.6 and s.validation.lo > 0.45
        assert abs(s.random.gap) < 0.15
    kept_pairs = {s.id for s in res.kept if s.kind == "pair"}
    assert {"shape>texture", "color>control"} <= kept_pairs
    # the reverse directions have no true divergence (A is the one wrong on planted images)
    assert not {"texture>shape", "control>color"} & kept_pairs
    assert by_id["shape>texture"].validation.gap > by_id["color>texture"].validation.gap


def test_pure_noise_yields_no_kept_subset():
    rng = np.random.default_rng(3)
    labels, probs = noise_probs(3000, 10, [f"p{i}" for i in range(6)], range(4), rng)
    res = discover(_matrix(labels, probs), DiscoverySettings(size=100, n_boot=300))
    assert len(res.subsets) == 6 * 5 + 6
    assert res.kept == ()
    assert all(s.flags for s in res.subsets)


def test_selection_never_reads_validation_seeds():
    rng = np.random.default_rng(4)
    planted = {("shape", "texture"): np.arange(100)}
    labels, probs = planted_probs(800, 10, PROBES, range(4), planted, rng)
    m = _matrix(labels, probs)
    split = split_seeds(m)
    res = discover(m, DiscoverySettings(size=50, n_boot=200))
    perturbed = dict(probs)
    for p in PROBES:
        for s in split.validation[p]:
            perturbed[(p, s)] = probs_from_correct(rng.random(labels.size) < 0.05, labels, 10, rng, conf=0.99)
    res2 = discover(_matrix(labels, perturbed), DiscoverySettings(size=50, n_boot=200))
    assert [s.indices for s in res.subsets] == [s.indices for s in res2.subsets]
    assert [s.validation.gap for s in res.subsets] != [s.validation.gap for s in res2.subsets]


def test_max_reuse_and_balanced_options():
    rng = np.random.default_rng(5)
    labels, probs = planted_probs(600, 5, PROBES, range(4), {("shape", "texture"): np.arange(60)}, rng)
    m = _matrix(labels, probs)
    res = discover(m, DiscoverySettings(size=40, max_reuse=1, n_boot=200))
    used = np.concatenate([np.array(s.indices, dtype=np.int64) for s in res.subsets])
    assert np.bincount(used).max() == 1
    res = discover(m, DiscoverySettings(size=40, balanced=True, n_boot=200))
    for s in res.subsets:
        if len(s.indices) == 40:
            counts = np.bincount(labels[list(s.indices)], minlength=5)
            assert counts.max() - counts.min() <= 1 or s.n_candidates < 60


def test_label_audit_flags_confident_unanimous_errors_and_keeps_them_out():
    rng = np.random.default_rng(6)
    n = 300
    labels = rng.integers(0, 4, n)
    probs = {}
    for p in ("a", "b", "c"):
        for s in range(2):
            c = rng.random(n) < 0.7
            c[:5] = False
            pr = probs_from_correct(c, labels, 4, rng, conf=0.6)
            pr[:5] = 0.02
            pr[np.arange(5), (labels[:5] + 1) % 4] = 0.94   # all agree on another class
            probs[(p, s)] = pr
    m = _matrix(labels, probs)
    suspects = audit_labels(m, confidence=0.7)
    assert [s.index for s in suspects] == [0, 1, 2, 3, 4]
    assert all(s.predicted == (s.label + 1) % 4 and s.agreement == 1.0 for s in suspects)
    res = discover(m, DiscoverySettings(size=50, min_margin=-1.0, n_boot=200))
    assert not set(range(5)) & {i for s in res.subsets for i in s.indices + s.random_indices}
    res = discover(m, DiscoverySettings(size=300, min_margin=-1.0, include_suspect=True, n_boot=200))
    assert set(range(5)) <= set(res.subsets[0].indices)


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError, match="discovery size"):
        DiscoverySettings(size=0)
    with pytest.raises(UserError, match="discovery correction"):
        DiscoverySettings(correction="fdr")
