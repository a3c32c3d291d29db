"""Named datasets (files, canonical URL, sha256, licence) and where to find them: see `catalogue`."""

from nanozoo.data.catalogue import CATALOGUE, DataError, DataFile, Dataset, find, get, path, read_text

__all__ = ["CATALOGUE", "DataError", "DataFile", "Dataset", "find", "get", "path", "read_text"]
