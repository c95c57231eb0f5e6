"""The runtime: the composition root (``wiring``), ingest, delivery workers, replay and the runner.

The one application layer that uses everything below it (config, plugins, cutover, the store's facade);
only the CLI stands above it. It reaches the ledger through :class:`~bridge.store.ledger.Ledger` only.
"""
