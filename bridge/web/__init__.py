"""The admin HTTP API: routes over the ledger and the cutover layer, roles, metrics, health.

Sits above the runtime (it can replay record dead letters through a running bridge) and below the CLI, which
serves it (``esb-bridge serve``, and ``esb-bridge run`` when the config has an ``api:`` block).
"""

from bridge.web.app import create_app
from bridge.web.auth import Authenticator, Identity, Role
from bridge.web.context import ApiContext
from bridge.web.server import ApiServer

__all__ = ["ApiContext", "ApiServer", "Authenticator", "Identity", "Role", "create_app"]
