"""The classic numpy models, each next to scikit-learn (code: experiments/classic.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.classic")

EXPERIMENTS = [
    _exp(
        name="linreg-synthetic",
        summary="linear regression, lstsq and gradient descent, on a noisy synthetic line (numpy)",
        config="LinregConfig",
        loop="run_linreg",
        reference=Reference(
            "coef_gap",
            1e-3,
            "the closed form (lstsq, equal to scikit-learn's LinearRegression to 1e-6)",
            note="issue 3: GD coefficients within 1e-3 of the closed form",
        ),
    ),
    _exp(
        name="logreg-digits",
        summary="softmax regression by gradient descent on load_digits (numpy)",
        config="LogregConfig",
        loop="run_logreg",
        reference=Reference(
            "test_acc",
            0.9644,
            "scikit-learn 1.9 LogisticRegression (lbfgs), same objective, split and scaling",
            lower_is_better=False,
        ),
    ),
    _exp(
        name="kmeans-blobs",
        summary="k-means++ and Lloyd, 10 restarts, on make_blobs (numpy)",
        config="KMeansConfig",
        loop="run_kmeans",
        reference=Reference(
            "inertia",
            880.0041,
            "scikit-learn 1.9 KMeans(n_init=10, random_state=0) on the default blobs (500 points, 5 centres, "
            "seed 0); each run logs sklearn_inertia for its own data",
        ),
    ),
    _exp(
        name="sentiment-tfidf",
        summary="TF-IDF + multinomial naive Bayes on movie-review polarity (MR), 10-fold CV (numpy)",
        config="SentimentConfig",
        loop="run_sentiment",
        reference=Reference(
            "cv_acc",
            0.779,
            "Wang & Manning 2012, 'Baselines and Bigrams', Table 2: MNB on unigrams (binarized counts), "
            "RT-s (= MR), 10-fold CV",
            lower_is_better=False,
            note="each run logs sklearn_nb_cv_acc (same features) and sklearn_logreg_cv_acc",
        ),
    ),
]
