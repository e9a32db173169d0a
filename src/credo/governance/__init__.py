"""Model governance: the registry of trained models and its serving pointer (:mod:`.registry`), the
publication gate no model skips (:mod:`.gate`, rules in :mod:`.checks` and :mod:`credo.policy.governance`),
and the hash-chained operator log of who published, refused or rolled back what, when and why
(:mod:`.oplog`)."""
