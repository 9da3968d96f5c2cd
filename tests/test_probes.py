"""Probe specs (TOML validation), numpy cue transforms, Keras transform layers, augmentations."""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.errors import ConfigError, UserError
from evalkit.probes import list_probe_specs, load_probe_spec
from evalkit.probes.transforms import IMAGE_TRANSFORMS, apply_transform, patch_grid


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)


# ---------------------------------------------------------------- specs

REQUIRED = {"control", "kernel5", "zca_shift", "grayscale", "blur", "patch_shuffle", "knn", "random_forest"}


def test_required_probes_are_defined():
    assert REQUIRED <= set(list_probe_specs())


@pytest.mark.parametrize("name", list_probe_specs())
def test_every_probe_file_validates(name):
    spec = load_probe_spec(name)
    assert spec.name == name and len(spec.sha256) == 64 and spec.description


def test_spec_contents():
    assert load_probe_spec("kernel5").architecture_params["kernel_sizes"][:2] == [5, 5]
    zca = load_probe_spec("zca_shift")
    assert zca.input_transform == "zca" and "channel_shift" in zca.augmentations
    assert zca.augmentation_params["channel_shift"]["intensity"] == 100.0
    assert load_probe_spec("patch_shuffle").blind_to == ("patch_shuffle",)
    assert not load_probe_spec("knn").is_keras and load_probe_spec("control").is_keras


def _write(tmp_path, text, name="myprobe"):
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


def test_unknown_top_level_key_suggests(tmp_path):
    p = _write(tmp_path, 'architecture = "classic_cnn"\naugmentatons = ["flip"]\n')
    with pytest.raises(ConfigError, match="unknown key 'augmentatons'.*did you mean 'augmentations'"):
        load_probe_spec(p)


def test_unknown_architecture_suggests(tmp_path):
    p = _write(tmp_path, 'architecture = "clasic_cnn"\n')
    with pytest.raises(ConfigError, match="architecture.*did you mean 'classic_cnn'"):
        load_probe_spec(p)


@pytest.mark.parametrize("text, pattern", [
    ('architecture = "classic_cnn"\n[architecture_params]\nkernel_size = [3,3,3,3]\n',
     "unknown key 'kernel_size'.*did you mean 'kernel_sizes'"),
    ('architecture = "classic_cnn"\ninput_transform = "blur"\n[input_params]\nsigm = 2\n',
     "unknown key 'sigm'.*did you mean 'sigma'"),
    ('architecture = "classic_cnn"\naugmentations = ["flip", "translat"]\n', "did you mean 'translate'"),
    ('architecture = "classic_cnn"\n[training]\nlearning_rat = 0.1\n', "did you mean 'learning_rate'"),
    ('architecture = "classic_cnn"\n[bias]\nblind_to = ["greyscale"]\n', "did you mean 'grayscale'"),
    ('architecture = "knn"\ninput_transform = "blur"\n', "scikit-learn architectures take raw pixels"),
    ('architecture = "classic_cnn"\n[training]\nbatch_size = "big"\n', "batch_size' must be int"),
])
def test_invalid_spec_errors(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_probe_spec(_write(tmp_path, text))


def test_unknown_probe_name_suggests():
    with pytest.raises(UserError, match="unknown probe 'contrl'.*did you mean 'control'"):
        load_probe_spec("contrl")


def test_extra_probe_dirs_from_env(tmp_path, monkeypatch):
    _write(tmp_path, 'description = "x"\narchitecture = "knn"\n', name="my_knn")
    monkeypatch.setenv("EVALKIT_PROBES_PATH", str(tmp_path))
    assert "my_knn" in list_probe_specs()
    assert load_probe_spec("my_knn").path == tmp_path / "my_knn.toml"


def test_cli_list_show_and_unknown(run_cli):
    code, out, _ = run_cli("probes", "list")
    assert code == 0 and all(name in out for name in REQUIRED)
    code, out, _ = run_cli("probes", "show", "kernel5")
    assert code == 0 and "kernel_sizes = [5, 5, 3, 3]" in out
    code, _, err = run_cli("probes", "show", "kernal5")
    assert code == 2 and "did you mean 'kernel5'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("probes", "train", "--probes", "control,blurr", "--data", "synthetic:2/1")
    assert code == 2 and "did you mean 'blur'" in err


# ---------------------------------------------------------------- numpy transforms

@pytest.mark.parametrize("name", IMAGE_TRANSFORMS.names())
def test_transform_keeps_shape_and_dtype(name, images):
    out = apply_transform(name, images, seed=1)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert not np.array_equal(out, images)  # every transform changes random images


def test_grayscale_is_invariant_to_channel_permutation(images):
    gray = apply_transform("grayscale", images)
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    permuted = apply_transform("channel_permute", images, seed=3)
    assert np.array_equal(apply_transform("grayscale", permuted), gray)


def test_channel_permute_reorders_channels(images):
    out = apply_transform("channel_permute", images, seed=0)
    assert np.array_equal(np.sort(out, axis=-1), np.sort(images, axis=-1))
    for a, b in zip(out, images):  # never the identity permutation
        assert not np.array_equal(a, b)


def test_patch_shuffle_keeps_multiset_of_patches(images):
    out = apply_transform("patch_shuffle", images, seed=5)
    before, after = patch_grid(images, 8), patch_grid(out, 8)
    for b, a in zip(before, after):
        key = lambda p: p.tobytes()  # noqa: E731
        assert sorted(map(key, b)) == sorted(map(key, a))
    orders = [tuple(np.argmax([[np.array_equal(pa, pb) for pb in b] for pa in a], axis=1))
              for a, b in zip(after, before)]
    assert len(set(orders)) > 1  # a new order per image
    assert np.array_equal(apply_transform("patch_shuffle", images, seed=5), out)  # seeded


def test_lowpass_removes_high_frequencies(images):
    out = apply_transform("lowpass", images).astype(float)
    diff = lambda x: np.abs(np.diff(x, axis=2)).mean()  # noqa: E731
    assert diff(out) < 0.3 * diff(images.astype(float))
    assert abs(out.mean() - images.mean()) < 2.0
    flat = np.full((1, 16, 16, 3), 77, np.uint8)
    assert np.array_equal(apply_transform("lowpass", flat), flat)


def test_mirror_is_an_involution(images):
    once = apply_transform("mirror", images)
    assert np.array_equal(once[:, :, 0], images[:, :, -1])
    assert np.array_equal(apply_transform("mirror", once), images)


# ---------------------------------------------------------------- Keras layers and augmentations

def test_keras_layers_match_numpy_transforms(images):
    from evalkit.probes.layers import GaussianBlur, Grayscale, PatchShuffle
    from evalkit.probes.transforms import lowpass_float

    x = images.astype(np.float32)
    np.testing.assert_allclose(np.asarray(Grayscale()(x))[..., 0], x.mean(-1), atol=1e-3)
    np.testing.assert_allclose(np.asarray(GaussianBlur(1.5)(x)), lowpass_float(images, 1.5), atol=1e-2)
    layer = PatchShuffle(8)
    out = np.asarray(layer(x)).astype(np.uint8)
    for b, a in zip(patch_grid(images, 8), patch_grid(out, 8)):
        assert sorted(p.tobytes() for p in b) == sorted(p.tobytes() for p in a)
    assert not np.array_equal(out, images)
    # inference: the order depends on the image only, not on the batch it is in
    np.testing.assert_array_equal(np.asarray(layer(x[2:3]))[0], np.asarray(layer(x))[2])
    # training: a new order at every call
    t1, t2 = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert not np.array_equal(t1, t2)


def test_zca_layer_whitens():
    from evalkit.probes.layers import ZCAWhitening

    rng = np.random.default_rng(0)
    base = rng.normal(size=(400, 1, 1, 1))
    imgs = np.clip(128 + 40 * base + rng.normal(0, 4, size=(400, 4, 4, 3)), 0, 255).astype(np.float32)
    layer = ZCAWhitening(epsilon=1e-7).fit(imgs)
    out = np.asarray(layer(imgs)).reshape(400, -1)
    cov = np.cov(out, rowvar=False)
    assert np.abs(out.mean(0)).max() < 1e-3
    np.testing.assert_allclose(np.diag(cov), 1.0, atol=0.05)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 0.05


@pytest.mark.parametrize("name", ["flip", "translate", "channel_shift"])
def test_augmentations_are_seeded(name, images):
    import tensorflow as tf

    from evalkit.probes.augment import AUGMENTATIONS

    fn = AUGMENTATIONS.get(name)
    x = tf.constant(images.astype(np.float32))
    a = np.asarray(fn(x, tf.constant([1, 2], tf.int64)))
    b = np.asarray(fn(x, tf.constant([1, 2], tf.int64)))
    c = np.asarray(fn(x, tf.constant([1, 3], tf.int64)))
    assert a.shape == images.shape and np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 255


@pytest.mark.parametrize("schedule, expected", [
    ("constant", [0.0, 5e-4, 1e-3, 1e-3, 1e-3]),
    ("cosine", [0.0, 5e-4, 1e-3, 5e-4, 0.0]),
])
def test_warmup_rises_linearly_then_follows_the_schedule(schedule, expected):
    from evalkit.probes.tfdata import make_optimizer

    opt = make_optimizer("adam", 1e-3, schedule, total_steps=120, warmup_steps=20)
    rates = [float(opt.learning_rate) if s is None else float(opt._learning_rate(s))
             for s in (0, 10, 20, 70, 120)]
    np.testing.assert_allclose(rates, expected, atol=1e-9)


def test_no_warmup_keeps_a_constant_rate():
    from evalkit.probes.tfdata import make_optimizer

    assert float(make_optimizer("adam", 1e-3, "constant", total_steps=100).learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="warmup_epochs must be >= 0"):
        make_optimizer("adam", 1e-3, "constant", total_steps=100, warmup_steps=-1)
