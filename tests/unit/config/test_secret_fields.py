"""Every config field that carries a credential is a secret type, so dumps, reference examples and logs mask it."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr

from bridge.config.model import BridgeConfig
from bridge.plugins import registry

#: Field names that name a credential (``token``, ``password``, ``api_key``, ``authorization``, ``headers`` ...).
SECRET_NAME = re.compile(r"(token|password|passphrase|secret|credential|authorization|api_?key|headers)$", re.I)
#: Names that match but carry no credential: where to look for one, or which header to send it in.
NOT_SECRET = re.compile(r"(_header|_path|_file|_field|_url|_env|token_endpoint|key_filename)$", re.I)


def _leaves(annotation: Any) -> list[Any]:
    """The types an annotation can hold (Optional, unions, dict values and list items unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [leaf for a in typing.get_args(annotation) for leaf in _leaves(a)]
    if origin in (dict, list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return [leaf for a in (args[-1:] if origin is dict else args) if a is not Ellipsis for leaf in _leaves(a)]
    return [annotation]


def _models() -> list[type[BaseModel]]:
    """The core config and every plugin's config model, with every model reachable from their fields."""
    seen: list[type[BaseModel]] = []
    todo: list[Any] = [BridgeConfig, *(p.config_model for p in registry.all())]
    while todo:
        model = todo.pop()
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or model in seen:
            continue
        seen.append(model)
        for f in model.model_fields.values():
            todo += _leaves(f.annotation)
    return seen


def plain_secret_fields(models: list[type[BaseModel]]) -> list[str]:
    """``Model.field`` of each credential-named field that can hold a plain ``str``."""
    out = []
    for model in models:
        for name, f in model.model_fields.items():
            if SECRET_NAME.search(name) and not NOT_SECRET.search(name) and str in _leaves(f.annotation):
                out.append(f"{model.__module__}.{model.__name__}.{name}")
    return out


def test_no_credential_field_is_a_plain_string() -> None:
    """Walks every config model (core and plugins): a field named like a credential is SecretStr, never str."""
    models = _models()
    assert len(models) > 20  # the walk reached the plugins' models too
    assert plain_secret_fields(models) == []


def test_the_walk_catches_a_plain_token() -> None:
    """The check fails on a plain ``str`` token and on plain header values, and passes SecretStr ones."""

    class Leaky(BaseModel):
        token: str
        headers: dict[str, str]
        password: SecretStr | None = None
        token_header: str = "Authorization"

    assert plain_secret_fields([Leaky]) == [f"{__name__}.Leaky.token", f"{__name__}.Leaky.headers"]
