"""The ledger: SQLAlchemy tables, migrations and the :class:`~bridge.store.ledger.Ledger` facade.

Everything above this package reads and writes the ledger through the facade's typed methods (opened with
:func:`~bridge.store.ledger.open_ledger`); ``schema`` and ``_core`` are this package's own business, and an
import-linter contract keeps them so. It imports nothing of ours but ``bridge.canonical`` and ``bridge.ports``.
"""
