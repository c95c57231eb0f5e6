"""The legacy ERP SOAP simulator (``simulator``), its data (``store``) and XML codec (``codec``), for the tests,
the benchmarks and the demo; ``wsdl/`` is the vendor-style WSDL it serves, shipped as package data."""
