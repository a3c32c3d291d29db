"""The recommender on MovieLens (code: experiments/recsys.py; the system: nanozoo.systems.recsys)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.recsys")

EXPERIMENTS = [
    _exp(
        name="movielens-two-tower",
        summary="two-tower retrieval (in-batch softmax, logQ) + FAISS on MovieLens ml-latest-small",
        config="two_tower",
        reference=Reference(
            "test_ndcg@10",
            0.2401,
            "RecBole's ml-1m table, BPR NDCG@10: another data set and split, so a sanity range only",
            lower_is_better=False,
            note="`nanozoo recsys train` also fits every baseline on the same split (report.md)",
        ),
    ),
]
