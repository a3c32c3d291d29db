"""Words: LSTM sentiment, word2vec next to gensim, a t-SNE map (code: experiments/nlp.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.nlp")
_W2V = Reference(
    "spearman_vs_gensim",
    0.6,
    "no published figure: issue 12's goal, Spearman >= 0.6 between our pairwise similarities of the 1,000 "
    "most frequent words and gensim 4.4's (same corpus and settings)",
    lower_is_better=False,
    note="each run logs spearman_gensim_seeds, gensim against itself with another seed: the ceiling",
)

EXPERIMENTS = [
    _exp(
        name="sentiment-lstm",
        summary="BiLSTM (our cell), max-pooled, over embeddings learnt from scratch on movie-review polarity",
        config="sentiment_lstm",
        reference=Reference(
            "test_acc",
            0.815,
            "Kim 2014, Table 2: CNN-static (pretrained word2vec) 81.5% on MR, 10-fold CV",
            lower_is_better=False,
            note="ours: one fold (sentiment-tfidf's fold 0) as test, no pretrained vectors",
        ),
    ),
    _exp(
        name="word2vec-shakespeare",
        summary="word2vec skip-gram, negative sampling (numba loops), Tiny Shakespeare, beside gensim; t-SNE",
        config="word2vec",
        loop="run_word2vec",
        reference=_W2V,
    ),
    _exp(
        name="word2vec-cbow-shakespeare",
        summary="word2vec CBOW + negative sampling (numpy; numba) on Tiny Shakespeare, next to gensim's CBOW",
        config="word2vec_cbow",
        loop="run_word2vec",
        reference=_W2V,
    ),
]
