"""Stage 1, data: dataset definitions, sources (official archives, image folders, zips), cache.

``load_dataset(name, data)`` is the entry point; see :mod:`evalkit.data.loader`.
"""
from .images import ImageSplit, LoadedDataset
from .loader import load_dataset, load_source
from .spec import DatasetSpec, available_datasets, get_spec

__all__ = ["ImageSplit", "LoadedDataset", "DatasetSpec", "load_dataset", "load_source",
           "get_spec", "available_datasets"]
