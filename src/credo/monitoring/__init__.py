"""Drift monitoring: a scoring run against the model's training population and the previous run
(:mod:`.drift`), read from and kept in the store (:mod:`.runs`), as HTML (:mod:`.report`)."""
