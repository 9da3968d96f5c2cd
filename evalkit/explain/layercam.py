"""Layer-CAM (Jiang et al. 2021) via tf_keras_vis.layercam.Layercam."""
from tf_keras_vis.layercam import Layercam

from .base import METHODS, Explainer


@METHODS.register("layercam")
class LayerCAM(Explainer):
    """Element-wise product of activations and positive gradients."""

    name = "layercam"
    visualizer_class = Layercam
