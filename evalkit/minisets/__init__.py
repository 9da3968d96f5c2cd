"""Stage 2, mini-sets: class-stratified reproducible subsets of a split, with JSON manifests."""
from .manifest import (MANIFEST_FORMAT, MiniSet, draw_miniset, image_hash, load_manifest, miniset_key,
                       sample_to_workspace)

__all__ = ["MANIFEST_FORMAT", "MiniSet", "draw_miniset", "image_hash", "load_manifest", "miniset_key",
           "sample_to_workspace"]
