"""esb-bridge: a legacy-ESB migration and coexistence bridge.

The package is layered (see DESIGN.md): ``canonical`` and ``ports`` at the bottom, ``store`` and
``runtime`` above them, ``config`` and ``cli`` on top. Nothing lower imports anything higher.
"""

__version__ = "0.1.0"
