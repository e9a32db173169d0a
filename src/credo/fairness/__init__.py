"""Fairness audits: the audit store of attributes used only to test fairness (:mod:`.attributes`,
decoded by :mod:`.codebooks`), the metrics at every perk threshold and band edge (:mod:`.metrics`), the
audit of a model on a population (:mod:`.audit`) with its HTML and JSON report (:mod:`.report`), and the
search for a less discriminatory alternative (:mod:`.search`)."""
