"""The synthetic interaction generator: its laws hold, it is deterministic, and it is vectorised."""

import numpy as np
import pytest

from nanozoo.systems.recsys import synthetic


def test_power_laws_taste_and_time():
    inter, items = synthetic.interactions(5000, n_items=500, n_clusters=10, seed=1)
    assert inter.n_users == 5000 and inter.n_items == len(items) == 500
    per_user = np.bincount(inter.user, minlength=5000)
    assert per_user.min() >= 1 and per_user.max() > 10 * np.median(per_user)  # a heavy tail of activity
    per_item = np.bincount(inter.item, minlength=500)
    assert per_item[:10].mean() > 10 * per_item[250:].mean()  # item index order is popularity order
    pairs = inter.user * 500 + inter.item
    assert len(np.unique(pairs)) == len(pairs)  # each (user, item) once
    # taste: the share of a user's items in their commonest cluster, near affinity + (1 - affinity) / C
    cluster = inter.item % 10
    top = np.array([np.bincount(cluster[inter.user == u]).max() for u in range(200)])
    assert 0.7 < top.sum() / per_user[:200].sum() < 0.95
    assert (np.diff(inter.time)[np.diff(inter.user) == 0] >= 0).all()  # each user in time order
    assert items.tags[13] == ["c3"]


def test_deterministic_and_refuses_bad_parameters():
    a, _ = synthetic.interactions(300, seed=4)
    b, _ = synthetic.interactions(300, seed=4)
    assert (a.item == b.item).all() and (a.time == b.time).all()
    with pytest.raises(ValueError, match="shape=1"):
        synthetic.interactions(10, shape=1.0)
