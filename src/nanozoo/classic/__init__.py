"""Classic machine learning from scratch in numpy, each model checked against scikit-learn."""

from nanozoo.classic.kmeans import KMeans
from nanozoo.classic.linear import LinearRegression
from nanozoo.classic.logistic import LogisticRegression
from nanozoo.classic.naive_bayes import MultinomialNB
from nanozoo.classic.pca import PCA
from nanozoo.classic.text import TfidfVectorizer
from nanozoo.classic.tsne import TSNE

__all__ = [
    "PCA",
    "TSNE",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "MultinomialNB",
    "TfidfVectorizer",
]
