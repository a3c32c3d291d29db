"""Classic machine learning from scratch in numpy, each model checked against scikit-learn."""

from nanozoo.classic.kmeans import KMeans
from nanozoo.classic.linear import LinearRegression
from nanozoo.classic.logistic import LogisticRegression
from nanozoo.classic.pca import PCA

__all__ = ["PCA", "KMeans", "LinearRegression", "LogisticRegression"]
