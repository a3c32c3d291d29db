"""The recommender: baselines, two-tower retrieval, ranking, offline evaluation, serving."""
