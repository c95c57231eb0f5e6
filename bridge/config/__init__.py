"""Configuration: one YAML file (plus included interface files) validated by pydantic, with line numbers."""

from bridge.config.loader import DEFAULT_CONFIG, PLUGIN_BLOCKS, LoadedConfig, load_config, resolve_config_path
from bridge.config.model import (
    BridgeConfig,
    CutoverConfig,
    EchoConfig,
    InterfaceConfig,
    Limits,
    PathConfig,
    Reference,
    RetryPolicy,
    Schedule,
    XrefRule,
    parse_duration,
)

__all__ = [
    "DEFAULT_CONFIG",
    "PLUGIN_BLOCKS",
    "BridgeConfig",
    "CutoverConfig",
    "EchoConfig",
    "InterfaceConfig",
    "Limits",
    "LoadedConfig",
    "PathConfig",
    "Reference",
    "RetryPolicy",
    "Schedule",
    "XrefRule",
    "load_config",
    "parse_duration",
    "resolve_config_path",
]
