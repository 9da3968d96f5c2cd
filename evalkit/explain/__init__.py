"""Stage 5: where each probe looks (Grad-CAM family via tf-keras-vis), with faithfulness
(deletion) and sanity (weight randomisation) checks."""
from .base import METHODS, Explainer, Explanation, ExplanationWarning, get_method, normalise_maps
from . import gradcam, gradcam_plus_plus, layercam, scorecam  # noqa: F401  (register)
from .layers import find_last_conv_layer, iter_layers, resolve_layer
from .targets import TARGETS, PredictedClass, TrueClass

__all__ = ["METHODS", "TARGETS", "Explainer", "Explanation", "ExplanationWarning", "PredictedClass",
           "TrueClass", "find_last_conv_layer", "get_method", "iter_layers", "normalise_maps",
           "resolve_layer"]
