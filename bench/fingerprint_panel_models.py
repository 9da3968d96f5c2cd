"""Validation panel for the bias fingerprint: classifiers whose bias is known by construction.

A different architecture family from the probes (which are the classic Keras CIFAR CNN with
a dense head): a small BatchNorm/GELU CNN with global average pooling, trained on its own
stratified mini-sets (default 4,000 images, seeds 100+). The bias is induced as follows:

  grayscale      fixed 1x1 luminance convolution at the input (colour never reaches the net)
  lowpass        fixed depthwise Gaussian blur (sigma 1.5) at the input (no fine texture)
  channel_shift  trained on images with random channel permutations and per-channel shifts
                 (+-100); served on intact images
  patch_shuffle  trained on images cut into 8x8 patches shuffled anew each epoch; served on
                 intact images
  none           plain training (flips and small shifts only): the no-bias control
  partial_grayscale  half of each epoch's training images are grayscale: colour is only
                 partly reliable, so the member loses part of the colour cue, not all of it
  partial_lowpass    a fixed, milder Gaussian blur (sigma 0.8) at the input: part of the
                 fine texture is gone (but this family loses so much more to blur than the
                 probes that it still depends on fine texture at least as much as the standard
                 probes do: bench/bench_cue_truth.py, bench/RESULTS.md)
  half_lowpass   half of each epoch's training images are low-passed (sigma 1.5, the
                 ablation's own filter): like partial_grayscale, for fine texture
  strong_*       the same bias (or none) on a wider model trained on all 50,000 training
                 images (test accuracy >= 0.75): a stand-in for a real API, far stronger
                 than a 5,000-image probe

Only standard Keras layers are used, so any Keras/MLServer install can load the files.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# expected dominant cue of each member (None = no induced bias)
PANEL = {"grayscale": "colour", "channel_shift": "colour", "lowpass": "fine_texture",
         "patch_shuffle": "global_shape", "none": None,
         "partial_grayscale": "colour", "partial_lowpass": "fine_texture",
         "strong_none": None, "strong_partial_grayscale": "colour",
         "half_lowpass": "fine_texture"}  # appended: a member's seed is 100 + its position here
# members whose bias is partial: they must be reported as relying *less* on the cue (not blind)
PARTIAL = {"partial_grayscale", "partial_lowpass", "half_lowpass", "strong_partial_grayscale"}
STRONG_SETTINGS = dict(train_size=50000, epochs=8, patience=8, batch_size=128, cosine=True)


def base_kind(kind: str) -> str:
    """The bias of a member without its 'strong_' prefix."""
    return kind.removeprefix("strong_")


@dataclass(frozen=True)
class PanelSettings:
    train_size: int = 4000
    epochs: int = 15
    batch_size: int = 64
    patience: int = 4
    learning_rate: float = 2e-3
    widths: tuple[int, int, int] = (32, 64, 128)
    cosine: bool = False          # cosine decay of the learning rate to 0 over the epochs


def _fixed_input_layer(kind: str):
    import keras

    kind = base_kind(kind)

    if kind == "grayscale":
        w = np.tile(np.array([0.299, 0.587, 0.114], np.float32)[:, None], (1, 3))[None, None]
        return keras.layers.Conv2D(3, 1, use_bias=False, trainable=False, name="fixed_luminance",
                                   kernel_initializer=keras.initializers.Constant(w))
    if kind in ("lowpass", "partial_lowpass"):
        sigma = 1.5 if kind == "lowpass" else 0.8
        radius = 4
        g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        k2 = np.outer(g, g) / np.outer(g, g).sum()
        w = np.repeat(k2[:, :, None, None], 3, axis=2).astype(np.float32)
        return keras.layers.DepthwiseConv2D(2 * radius + 1, padding="same", use_bias=False,
                                            trainable=False, name="fixed_gaussian_blur",
                                            depthwise_initializer=keras.initializers.Constant(w))
    return None


def build_panel_model(kind: str, settings: PanelSettings, n_classes: int = 10):
    """BatchNorm/GELU CNN with global average pooling; float RGB [0, 255] in, softmax out."""
    import keras

    inp = keras.Input((32, 32, 3), name="images")
    x = inp
    fixed = _fixed_input_layer(kind)
    if fixed is not None:
        x = fixed(x)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    for i, width in enumerate(settings.widths):
        for j in range(2 if i < 2 else 1):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.Activation("gelu")(x)
        if i < 2:
            x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inp, out, name=f"panel_{kind}")


def training_images(kind: str, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One epoch's training images: flips and small shifts, plus the member's transform."""
    from evalkit.probes.transforms import IMAGE_TRANSFORMS

    kind = base_kind(kind)
    x = images.copy()
    flip = rng.uniform(size=len(x)) < 0.5
    x[flip] = x[flip, :, ::-1]
    dy, dx = rng.integers(-2, 3, size=2)
    x = np.roll(x, (int(dy), int(dx)), axis=(1, 2))
    if kind == "channel_shift":
        perm = np.array([rng.permutation(3) for _ in range(len(x))])
        x = np.take_along_axis(x, perm[:, None, None, :], axis=3).astype(np.float32)
        x = np.clip(x + rng.uniform(-100, 100, size=(len(x), 1, 1, 3)), 0, 255).astype(np.uint8)
    elif kind == "patch_shuffle":
        x = IMAGE_TRANSFORMS.get("patch_shuffle")(x, rng)
    elif kind == "partial_grayscale":
        half = rng.uniform(size=len(x)) < 0.5
        x[half] = IMAGE_TRANSFORMS.get("grayscale")(x[half])
    elif kind == "half_lowpass":
        half = rng.uniform(size=len(x)) < 0.5
        x[half] = IMAGE_TRANSFORMS.get("lowpass")(x[half])
    return x


def train_panel_member(kind: str, dataset, seed: int, out_dir: Path,
                       settings: PanelSettings = PanelSettings(), log=print) -> Path:
    """Train one member (skipped if its file exists); returns the .keras path."""
    import keras

    from evalkit.minisets import draw_miniset

    path = Path(out_dir) / f"panel-{kind.replace('_', '-')}-seed{seed}.keras"
    if path.is_file():
        return path
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    train = dataset.split("train")
    idx = np.array(draw_miniset(dataset, settings.train_size, seed).indices)
    rng.shuffle(idx)
    n_val = len(idx) // 10
    xv, yv = train.images[idx[:n_val]], train.labels[idx[:n_val]]
    xt, yt = train.images[idx[n_val:]], train.labels[idx[n_val:]]
    if base_kind(kind) in ("channel_shift", "patch_shuffle", "partial_grayscale"):  # as trained
        xv = training_images(kind, xv, np.random.default_rng(seed + 1))
    model = build_panel_model(kind, settings, len(train.class_names))
    lr = settings.learning_rate
    if settings.cosine:
        steps = settings.epochs * -(-len(xt) // settings.batch_size)
        lr = keras.optimizers.schedules.CosineDecay(lr, steps)
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    best, best_w, wait, history, t0 = -1.0, None, 0, [], time.time()
    for epoch in range(settings.epochs):
        h = model.fit(training_images(kind, xt, rng).astype(np.float32), yt, epochs=1,
                      batch_size=settings.batch_size, verbose=0)
        val = float(np.mean(model.predict(xv.astype(np.float32), verbose=0).argmax(1) == yv))
        history.append({"epoch": epoch, "loss": float(h.history["loss"][0]), "val_accuracy": val})
        log(f"  {kind} seed {seed} epoch {epoch + 1}: loss {history[-1]['loss']:.3f} val acc {val:.3f}")
        if val > best:
            best, best_w, wait = val, model.get_weights(), 0
        else:
            wait += 1
            if wait >= settings.patience:
                break
    model.set_weights(best_w)
    test = dataset.split("test")
    acc = float(np.mean(model.predict(test.images.astype(np.float32), verbose=0, batch_size=500).argmax(1)
                        == test.labels))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
    meta = {"kind": kind, "seed": seed, "expected_cue": PANEL[kind], "test_accuracy": acc,
            "best_val_accuracy": best, "epochs_run": len(history), "seconds": time.time() - t0,
            "settings": settings.__dict__, "history": history, "dataset_sha256": dataset.source_sha256}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    log(f"  {kind} seed {seed}: test accuracy {acc:.3f} in {meta['seconds']:.0f} s -> {path}")
    return path


def panel_bias_check(paths: dict, dataset, n: int = 1000, seed: int = 0) -> dict:
    """Accuracy each member keeps under each cue ablation, predicted locally on n test images:
    a direct check that the induced bias is there (no bank, no server needed)."""
    from evalkit.probes.transforms import apply_transform
    from evalkit.serving.classifier import load_classifier

    test = dataset.split("test")
    idx = np.random.default_rng(seed).choice(len(test), min(n, len(test)), replace=False)
    x, y = test.images[idx], test.labels[idx]
    out = {}
    for kind, path in paths.items():
        clf = load_classifier(path)
        acc = float(np.mean(clf.predict(x).argmax(1) == y))
        out[kind] = {"accuracy": acc, **{t: float(np.mean(clf.predict(apply_transform(t, x)).argmax(1) == y)) / acc
                                         for t in ("grayscale", "channel_permute", "lowpass",
                                                   "patch_shuffle", "mirror")}}
    return out
