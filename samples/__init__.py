"""The sample landscape of esb-bridge, installed as the separate distribution ``esb-bridge-demo``.

Kept out of the bridge's own wheel so that the core never depends on it: the simulated systems
(:mod:`samples.legacy_erp`, :mod:`samples.cloud_sim`), the ``esb-bridge demo`` command that drives them
(:mod:`samples.demo_app`, a plugin), and as package data the demo scenario (``demo/``), the shared mappings
(``mappings/``), the legacy WSDL (``legacy_erp/wsdl/``) and the cloud API's contract (``cloud_sim/openapi.yaml``).
``translators/`` and ``sftp/`` are test fixtures and examples of the checkout only.
"""
