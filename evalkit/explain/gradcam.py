"""Grad-CAM (Selvaraju et al. 2017) via tf_keras_vis.gradcam.Gradcam."""
from tf_keras_vis.gradcam import Gradcam

from .base import METHODS, Explainer


@METHODS.register("gradcam")
class GradCAM(Explainer):
    """Channel weights = spatial mean of the class score's gradient; ReLU of the weighted sum."""

    name = "gradcam"
    visualizer_class = Gradcam
