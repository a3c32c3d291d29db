"""The end-to-end ML systems (DESIGN.md): search/ and recsys/, each ingest -> index -> retrieve -> rank ->
evaluate -> serve. A system imports models, tokenizers, data and core; experiments and the CLI import it."""
