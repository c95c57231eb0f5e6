"""The ``esb-bridge`` command line."""
