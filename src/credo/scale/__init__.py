"""Population-scale batch over Parquet: features and scores without holding every event in memory.

The in-memory path (:func:`credo.features.events_table.events_from_directory` then
:func:`credo.features.compute.compute_features`) builds one Arrow table of every event in
Python; it needs about 1.3 GB per million events. This package runs the *same* definitions
out of core on DuckDB:

* :mod:`credo.scale.events` normalises raw event Parquet (``credo simulate`` parts or an
  export) to :data:`~credo.features.events_table.EVENTS_SCHEMA` as a DuckDB query over the
  files (not a copy), with the correction and retraction keys derived from the few revision rows;
* :mod:`credo.scale.buckets` plans consumer buckets (``consumer_id`` ranges from the Parquet
  footers), so each bucket's filter prunes the other buckets' row groups;
* :mod:`credo.scale.features` runs the unchanged :class:`~credo.features.builder.FeatureQuery`
  text bucket by bucket under a DuckDB memory limit (spilling to disk) and appends each
  bucket's rows to the output Parquet;
* :mod:`credo.scale.score` scores a features Parquet in record batches with a published model;
* :mod:`credo.scale.spark` runs the same feature text (transpiled by sqlglot) and the scorecard
  as a column expression (:mod:`credo.scale.scorecard_sql`) on Apache Spark, for populations
  beyond one machine (``docs/deployment-spark.md``); :mod:`credo.scale.spark_training` builds
  the training snapshots and bad labels there (the label SQL of :mod:`credo.features.labels`).
"""
