"""chatsync as Dagster assets: one per shard, a daily-partitioned twin for backfills, the views downstream.

Built with ``dagster-dlt``: ``@dlt_assets`` makes the assets from each shard's dlt source, and
``ChatsyncDltResource`` (a ``DagsterDltResource``) runs them through chatsync's own runner, so an
orchestrated load keeps everything ``chatsync run`` guarantees: the run lock, crash repair, pending
packages finished first, per-conversation isolation, the privacy policy and the exit semantics.

Split as dagster-dlt splits itself: ``constants``, ``settings``, ``translator``, ``resource``,
``assets`` and ``definitions``. ``pipelines.orchestration`` exposes the ``defs`` that
``dg dev`` serves (``make dagster``).
"""
