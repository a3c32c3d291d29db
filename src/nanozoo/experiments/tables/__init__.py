"""One table per track: plain data (names, summaries, published figures, function names), no torch."""
