"""The search system: BM25, dense and hybrid retrieval, reranking, evaluation, serving."""
