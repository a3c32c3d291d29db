"""BERT: a mini BERT pretrained (experiments/bert_pretrain.py), fine-tuning (experiments/bert.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.bert")

EXPERIMENTS = [
    Experiment(
        name="bert-mini-pretrain",
        summary="BERT-Tiny's shape pretrained by masked LM + next sentence on Penn Treebank, our WordPiece",
        module="nanozoo.experiments.bert_pretrain",
        config="pretrain",
    ),
    _exp(
        name="bert-sentiment",
        summary="all-MiniLM-L6-v2 fine-tuned on SST-2 (800 steps of 32, embedding frozen); dev accuracy",
        config="sentiment",
        reference=Reference(
            "val_acc",
            0.935,
            "BERT-base, GLUE SST-2 test (Devlin et al. 2019, table 1)",
            lower_is_better=False,
            note="issue 11: goal >= 85% SST-2 dev from the MiniLM weights within 15 min on 2 CPU cores; "
            "--set data.dataset=mr for MR (Kim 2014 CNN: 81.5%, 10-fold CV), data.init=random or a run",
        ),
    ),
    Experiment(
        name="bert-ner",
        summary="all-MiniLM-L6-v2 fine-tuned for CoNLL-2003 NER (900 steps of 32, embedding frozen); F1",
        module="nanozoo.experiments.bert_ner",
        config="ner",
        reference=Reference(
            "test_f1",
            0.924,
            "BERT-base, CoNLL-2003 test F1, fine-tuning (Devlin et al. 2019, table 3)",
            lower_is_better=False,
            note="ours: uncased MiniLM (6 layers of 384), IOB1 tags as given, seqeval's entity F1",
        ),
    ),
]
