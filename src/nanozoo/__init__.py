"""nanozoo: machine learning built from first principles, one readable file per model."""

__version__ = "0.1.0"
