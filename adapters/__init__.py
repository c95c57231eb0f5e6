"""Adapters: sources and sinks that move bytes between esb-bridge and the outside world.

``adapters.legacy`` speaks to legacy systems (SFTP and folder drops, SOAP); ``adapters.cloud`` to cloud
systems. Adapters implement ``bridge.ports`` and know no canonical model.
"""
