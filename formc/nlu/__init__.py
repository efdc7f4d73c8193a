"""NLU: training-data readers, compile (tables + trained scorer) and the runtime parser."""
