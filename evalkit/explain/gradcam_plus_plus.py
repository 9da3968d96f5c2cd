"""Grad-CAM++ (Chattopadhyay et al. 2018) via tf_keras_vis.gradcam_plus_plus.GradcamPlusPlus."""
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus

from .base import METHODS, Explainer


@METHODS.register("gradcam++")
class GradCAMPlusPlus(Explainer):
    """Pixel-wise weighted gradients (higher-order terms of exp(score))."""

    name = "gradcam++"
    visualizer_class = GradcamPlusPlus
