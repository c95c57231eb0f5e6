"""Adapters: sources and sinks that move bytes between the bridge and legacy or cloud systems.

Adapters implement ``bridge.ports`` and know no canonical model; they are found through the plugin registry.
"""
