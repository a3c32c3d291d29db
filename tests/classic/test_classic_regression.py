"""Linear and logistic regression in numpy against scikit-learn."""

import numpy as np
import pytest
from sklearn import datasets, linear_model, model_selection, preprocessing

from nanozoo.classic import LinearRegression, LogisticRegression
from nanozoo.classic.logistic import max_stable_lr


@pytest.fixture(scope="module")
def regression():
    return datasets.make_regression(n_samples=200, n_features=5, noise=5.0, bias=3.0, random_state=0)


# ---------------------------------------------------------------------------------------------------
# Linear regression


def test_worked_example_exact_line():
    # y = 2x + 1 through three points: the fit is exact
    m = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    assert np.allclose(m.coef_, [2.0]) and np.isclose(m.intercept_, 1.0)
    assert np.isclose(m.score([[3.0], [4.0]], [7.0, 9.0]), 1.0)


@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_closed_form_equals_sklearn(regression, alpha):
    X, y = regression
    sk = linear_model.Ridge(alpha=alpha).fit(X, y) if alpha else linear_model.LinearRegression().fit(X, y)
    ours = LinearRegression(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-6, rtol=0)  # tolerance: 1e-6 (closed form)
    assert abs(ours.intercept_ - sk.intercept_) < 1e-6
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_gradient_descent_equals_sklearn(regression, alpha):
    X, y = regression
    sk = linear_model.Ridge(alpha=alpha).fit(X, y) if alpha else linear_model.LinearRegression().fit(X, y)
    ours = LinearRegression(alpha=alpha, method="gd", lr=0.1).fit(X, y)
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-3, rtol=0)  # tolerance: 1e-3 (GD)
    assert abs(ours.intercept_ - sk.intercept_) < 1e-3
    assert np.all(np.diff(ours.loss_history_) <= 1e-12 * ours.loss_history_[0])  # down, up to round-off


def test_gradient_descent_divergence_is_reported(regression):
    X, y = regression
    with pytest.raises(ValueError, match="diverged.*lr=5"):
        LinearRegression(method="gd", lr=5.0).fit(X, y)


# ---------------------------------------------------------------------------------------------------
# Logistic regression


def _split(X, y):
    return model_selection.train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_accuracy_within_1pct_of_sklearn_on_make_classification(n_classes):
    X, y = datasets.make_classification(600, 10, n_informative=6, n_classes=n_classes, random_state=0)
    Xtr, Xte, ytr, yte = _split(X, y)
    alpha = 1e-3
    ours = LogisticRegression(alpha=alpha, lr=0.5).fit(Xtr, ytr)
    # the same objective: scikit-learn's C = 1 / (alpha N)
    sk = linear_model.LogisticRegression(C=1 / (alpha * len(Xtr)), max_iter=5000).fit(Xtr, ytr)
    assert abs(ours.score(Xte, yte) - sk.score(Xte, yte)) <= 0.01  # tolerance: 1 point of accuracy
    assert ours.coef_.shape == sk.coef_.reshape(ours.coef_.shape).shape
    np.testing.assert_allclose(ours.coef_, sk.coef_.reshape(ours.coef_.shape), atol=5e-3)  # same optimum


def test_accuracy_within_1pct_of_sklearn_on_digits():
    X, y = datasets.load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = _split(X, y)
    sc = preprocessing.StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    alpha = 1e-3
    ours = LogisticRegression(alpha=alpha, lr=0.5, max_iter=800).fit(Xtr, ytr)
    sk = linear_model.LogisticRegression(C=1 / (alpha * len(Xtr)), max_iter=5000).fit(Xtr, ytr)
    acc, sk_acc = ours.score(Xte, yte), sk.score(Xte, yte)
    assert acc > 0.94 and abs(acc - sk_acc) <= 0.01, (acc, sk_acc)  # tolerance: 1 point of accuracy
    np.testing.assert_allclose(ours.predict_proba(Xte).sum(axis=1), 1.0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_loss_decreases_monotonically_under_a_small_step(n_classes):
    X, y = datasets.make_classification(300, 6, n_informative=4, n_classes=n_classes, random_state=1)
    X = X * 3.0  # a larger scale makes a careless step overshoot
    lr = max_stable_lr(X, n_classes, alpha=1e-2)
    h = np.array(LogisticRegression(alpha=1e-2, lr=lr, max_iter=300, tol=0).fit(X, y).loss_history_)
    assert len(h) == 300 and np.all(np.diff(h) <= 1e-12), np.diff(h).max()
    assert h[-1] < 0.8 * h[0]


def test_labels_can_be_strings():
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    m = LogisticRegression(alpha=0.0, lr=1.0, max_iter=500).fit(X, ["cat", "cat", "dog", "dog"])
    assert list(m.predict([[-1.0], [5.0]])) == ["cat", "dog"]


# ---------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("model", [LinearRegression(), LogisticRegression()])
def test_bad_input_is_a_clear_error(model):
    X = np.random.default_rng(0).normal(size=(10, 3))
    y = np.array([0, 1] * 5)
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        model.fit(X, y[:9])
    Xn = X.copy()
    Xn[4, 2] = np.nan
    with pytest.raises(ValueError, match="NaN.*row 4, column 2"):
        model.fit(Xn, y)
    with pytest.raises(ValueError, match="must be 2-D"):
        model.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="not fitted"):
        type(model)().predict(X)
    model.fit(X, y)
    with pytest.raises(ValueError, match="has 2 features, the model was fitted on 3"):
        model.predict(X[:, :2])


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="alpha=-1"):
        LinearRegression(alpha=-1)
    with pytest.raises(ValueError, match="method='svd'"):
        LinearRegression(method="svd")
    with pytest.raises(ValueError, match="single class"):
        LogisticRegression().fit([[0.0], [1.0]], [1, 1])
