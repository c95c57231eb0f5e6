"""Adapters: the bridge's edges (legacy ERP, cloud APIs). They move bytes and know no canonical model."""
