"""Explanations (stage 5) on tiny Keras models built in code and synthetic images."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from evalkit.errors import UserError  # noqa: E402
from evalkit.explain import (METHODS, ExplanationWarning, find_last_conv_layer, get_method,  # noqa: E402
                             normalise_maps, resolve_layer)
from evalkit.explain.faithfulness import (centre_blob_maps, compare_with_baselines,  # noqa: E402
                                          deletion_scores, random_maps)
from evalkit.explain.flatten import check_same_predictions, flatten_for_cam  # noqa: E402
from evalkit.explain.sanity import randomisation_test, spearman_per_image  # noqa: E402
from evalkit.explain.targets import PredictedClass, TrueClass  # noqa: E402


def nested_probe(size=32, n_classes=10, seed=0) -> keras.Model:
    """Like a probe: input -> preprocessing sub-model -> CNN sub-model (with a nested block)."""
    keras.utils.set_random_seed(seed)
    pre = keras.Sequential([keras.Input((size, size, 3)), layers.Rescaling(1 / 255.0)], name="preprocess")
    block = keras.Sequential([keras.Input((size // 2, size // 2, 8)),
                              layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_c")],
                             name="block")
    ci = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(ci)
    x = layers.MaxPooling2D()(x)
    x = block(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(n_classes, activation="softmax", name="head")(x)
    cnn = keras.Model(ci, out, name="cnn")
    inp = keras.Input((size, size, 3), name="images")
    return keras.Model(inp, cnn(pre(inp)), name="probe")


@pytest.fixture(scope="module")
def data():
    from evalkit.data.synthetic import make_synthetic_split

    return make_synthetic_split(3, size=32, seed=1)


@pytest.fixture(scope="module")
def trained(data):
    """The nested probe after a few epochs on synthetic images (maps then carry signal)."""
    from evalkit.data.synthetic import make_synthetic_split

    train = make_synthetic_split(30, size=32, seed=0)
    model = nested_probe()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(train.images.astype("float32"), train.labels, epochs=4, batch_size=32, verbose=0)
    return model


def test_find_last_conv_inside_nested_models(trained):
    assert find_last_conv_layer(trained) == "cnn/block/conv_c"
    assert resolve_layer(trained, None) == "cnn/block/conv_c"
    assert resolve_layer(trained, "conv_a") == "cnn/conv_a"
    assert resolve_layer(trained, "cnn/conv_a") == "cnn/conv_a"


def test_bad_layer_name_is_user_error_with_suggestion(trained):
    with pytest.raises(UserError, match="did you mean 'conv_a'"):
        resolve_layer(trained, "conv_aa")
    with pytest.raises(UserError, match="not a feature map"):
        resolve_layer(trained, "head")


def test_model_without_convolutions_has_no_cam_layer():
    inp = keras.Input((8, 8, 3))
    mlp = keras.Model(inp, layers.Dense(3, activation="softmax")(layers.Flatten()(inp)))
    assert find_last_conv_layer(mlp) is None
    with pytest.raises(UserError, match="no convolutional layer"):
        resolve_layer(mlp, None)


def test_flat_model_matches_nested_probe(trained, data):
    cam = flatten_for_cam(trained, "cnn/block/conv_c")
    assert cam.scores_on == "logits"
    assert cam.layer in cam.model.layers
    assert check_same_predictions(trained, cam, data.images[:8].astype("float32")) < 1e-5


@pytest.mark.parametrize("method", METHODS.names())
def test_method_contract(method, trained, data):
    images = data.images[:7]
    exp = get_method(method)(trained, batch_size=4).explain(images, "predicted")
    assert exp.maps.shape == (7, 32, 32) and exp.maps.dtype == np.float32
    assert exp.maps.min() >= 0.0 and exp.maps.max() <= 1.0
    assert np.isclose(exp.maps.reshape(7, -1).max(axis=1), 1.0).sum() >= 5  # normalised, not degenerate
    assert exp.classes.shape == (7,) and exp.probs.shape == (7, 10)
    np.testing.assert_array_equal(exp.classes, exp.probs.argmax(axis=1))
    assert exp.layer == "cnn/block/conv_c"


def test_batched_equals_one_at_a_time(trained, data):
    images = data.images[:5]
    a = get_method("gradcam")(trained, batch_size=5).explain(images).maps
    b = get_method("gradcam")(trained, batch_size=1).explain(images).maps
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_targets_are_separate_callables():
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    np.testing.assert_array_equal(PredictedClass()(probs), [1, 0])
    np.testing.assert_array_equal(TrueClass()(probs, np.array([0, 0])), [0, 0])
    with pytest.raises(UserError, match="needs the images' labels"):
        TrueClass()(probs)


def test_true_and_predicted_targets_give_different_maps(trained, data):
    images = data.images[:10]
    explainer = get_method("gradcam")(trained)
    pred = explainer.explain(images, "predicted")
    labels = pred.classes.copy()
    labels[::2] = (labels[::2] + 3) % 10  # every other image: a class the probe did not predict
    true = explainer.explain(images, "true", labels)
    np.testing.assert_array_equal(true.classes, labels)
    diff = np.abs(true.maps - pred.maps).reshape(10, -1).max(axis=1)
    assert (diff[1::2] < 1e-6).all()     # same class -> same map
    assert (diff[::2] > 0.1).sum() >= 4  # other class -> a different map


def test_all_zero_map_warns():
    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, activation="relu", kernel_initializer="zeros", bias_initializer="zeros")(inp)
    out = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    dead = keras.Model(inp, out)
    images = np.random.default_rng(0).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    with pytest.warns(ExplanationWarning, match="3 of 3 .* all zero"):
        exp = get_method("gradcam")(dead).explain(images)
    assert exp.n_all_zero == 3 and (exp.maps == 0).all()


def test_normalise_maps_handles_nan_and_range():
    raw = np.stack([np.arange(16.0).reshape(4, 4), np.full((4, 4), np.nan), np.full((4, 4), 2.0)])
    with pytest.warns(ExplanationWarning) as caught:
        maps, n_zero, n_nan = normalise_maps(raw)
    messages = " | ".join(str(w.message) for w in caught)
    assert "1 of 3 maps contain NaN" in messages and "1 of 3 maps are all zero" in messages
    assert (n_zero, n_nan) == (2, 1)
    assert maps[0].min() == 0.0 and maps[0].max() == 1.0 and maps.dtype == np.float32
    assert (maps[1:] == 0).all()


def test_randomised_weights_change_the_maps(trained, data):
    images = data.images[:12]
    cascade = randomisation_test(trained, images, method="gradcam", mode="cascading", seed=3)
    assert [s.randomised[-1] for s in cascade.steps] == ["cnn/head", "cnn/block/conv_c", "cnn/conv_a"]
    assert abs(cascade.final_spearman) < 0.5
    full = randomisation_test(trained, images, method="gradcam", mode="all", seed=3)
    assert len(full.steps) == 1 and abs(full.final_spearman) < 0.5
    # the probe itself is untouched: the same maps again correlate perfectly
    again = get_method("gradcam")(trained).explain(images)
    rho = spearman_per_image(again.maps, get_method("gradcam")(trained).explain(images).maps)
    assert np.nanmin(rho) > 0.999


def _region_model(size=16):
    """Class 1 probability rises with the brightness of the top-left 6x6 corner."""
    inp = keras.Input((size, size, 3))
    x = layers.GlobalAveragePooling2D()(layers.Cropping2D(((0, size - 6), (0, size - 6)))(inp))
    dense = layers.Dense(2, activation="softmax")
    model = keras.Model(inp, dense(x))
    dense.set_weights([np.array([[-0.02, 0.02]] * 3, np.float32), np.array([3.9, -3.9], np.float32)])
    return model


def test_deletion_ranks_a_faithful_map_below_random_and_blob():
    size = 16
    images = np.zeros((6, size, size, 3), np.uint8)
    images[:, :6, :6] = 255
    maps = np.zeros((6, size, size), np.float32)
    maps[:, :6, :6] = 1.0
    model = _region_model(size)
    report = compare_with_baselines(model, images, maps, np.ones(6, np.int64), steps=8, baseline="mean")
    s = report.summary()
    assert s["n_images"] == 6 and s["beats_random"] == 1.0
    assert s["deletion"] < s["random"] - 0.2 and s["deletion"] < s["blob"] - 0.2
    inverted = deletion_scores(model, images, 1 - maps, np.ones(6, np.int64), steps=8, baseline="mean")
    assert inverted.mean() > s["random"]


def test_baseline_maps():
    blob = centre_blob_maps(2, 9, 9)
    assert blob.shape == (2, 9, 9) and blob[0, 4, 4] == 1.0 and blob[0, 0, 0] == 0.0
    r = random_maps(2, 9, 9, seed=1)
    assert r.dtype == np.float32 and 0 <= r.min() and r.max() < 1
    np.testing.assert_array_equal(r, random_maps(2, 9, 9, seed=1))


def test_overlay_and_builtin_colormap():
    from evalkit.explain.outputs import colormap, grid, overlay

    cm = colormap(np.array([0.0, 0.5, 1.0]))
    assert cm.dtype == np.uint8 and cm.shape == (3, 3)
    assert cm[0, 2] > 100 and cm[0, 0] == 0      # low = blue
    assert cm[2, 0] > 100 and cm[2, 2] == 0      # high = red
    img = np.zeros((8, 8, 3), np.uint8)
    hm = np.zeros((8, 8), np.float32)
    hm[:4] = 1.0
    ov = np.asarray(overlay(img, hm, size=32, alpha=0.5))
    assert ov.shape == (32, 32, 3) and ov[2, 16, 0] > ov[30, 16, 0]  # hot half is redder
    g = grid(img, "#1\ntrue: cat", [("a s0", "cat 0.90", hm), ("b s0", "dog 0.40", hm)], size=32)
    assert g.size == (3 * 36 + 4, 32 + 28 + 8)
