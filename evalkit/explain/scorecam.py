"""Score-CAM (Wang et al. 2020) via tf_keras_vis.scorecam.Scorecam (gradient-free).

tf-keras-vis scores the masked inputs with ``softmax(model output)``; the flat model outputs
logits, so the channel weights are the target class's probabilities, as in the paper.
``max_n`` > 0 runs Faster Score-CAM (only the ``max_n`` channels with the largest spatial std).
"""
import functools

import keras
from tf_keras_vis.scorecam import Scorecam

from .base import METHODS, Explainer


@METHODS.register("scorecam")
class ScoreCAM(Explainer):
    """Channel weights = class probability of the image masked by each upsampled channel."""

    name = "scorecam"
    visualizer_class = Scorecam

    def __init__(self, model, *, layer=None, batch_size=64, randomise=(), seed=0, max_n=None):
        super().__init__(model, layer=layer, batch_size=batch_size, randomise=randomise, seed=seed)
        self.max_n = max_n

    def _setup(self) -> None:
        super()._setup()
        flat = self.cam_model_.model  # our own flat copy: silence tf-keras-vis' predict() progress bars
        flat.predict = functools.partial(keras.Model.predict, flat, verbose=0)

    def _call_kwargs(self) -> dict:
        return {"batch_size": 256, "max_N": self.max_n}
