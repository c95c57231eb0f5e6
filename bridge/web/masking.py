"""Masking of sensitive fields before a canonical record leaves the API.

The interface's ``compare.sensitive`` globs (``tax_id``, ``**.email``) name the fields; a matching field's value,
or a whole matching subtree, becomes ``***masked***`` (the mask the comparison diffs use), whatever its type.
Bytes without a field structure (what a sink was handed, a target's response, a dead letter's fragment) are
summarised instead: size, media type and a hash that is keyed (HMAC-SHA256, ``ESB_BRIDGE_HASH_KEY``) for an
interface with sensitive fields, or left out there when no hash key is set, so the summary cannot be turned
back into a value by trying candidates. The CLI uses the same functions, so every output masks alike.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from cutover.compare import MASK
from cutover.compare.paths import PathMatcher, escape_segment

__all__ = ["mask", "mask_dead_letter", "mask_message", "summary"]


def mask(value: Any, sensitive: PathMatcher, path: str = "") -> Any:
    """``value`` with every field under a sensitive path masked (lists: the element index is the segment)."""
    if path and sensitive.match_prefix(path) is not None:
        return None if value is None else MASK
    if isinstance(value, dict):
        return {
            k: mask(v, sensitive, f"{path}.{escape_segment(k)}" if path else escape_segment(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v, sensitive, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
    return value


def summary(
    data: bytes | str | None, media_type: str | None = None, *, sensitive: bool = False, hash_key: bytes | None = None
) -> dict[str, Any] | None:
    """Size, media type and hash of bytes that are not shown (keyed, or absent, when ``sensitive``)."""
    if data is None:
        return None
    raw = data.encode() if isinstance(data, str) else data
    out: dict[str, Any] = {"bytes": len(raw), "media_type": media_type}
    if not sensitive:
        out["sha256"] = hashlib.sha256(raw).hexdigest()
    elif hash_key is not None:
        out["hmac_sha256"] = hmac.new(hash_key, raw, hashlib.sha256).hexdigest()
    return out


def mask_message(detail: dict[str, Any], sensitive: PathMatcher, hash_key: bytes | None) -> dict[str, Any]:
    """A ``message_detail`` of an interface with sensitive fields: record masked, bytes summarised."""
    payload = detail.get("payload")
    out = dict(detail)
    if payload is not None:
        try:
            out["payload"] = orjson.dumps(mask(orjson.loads(payload), sensitive)).decode()
        except orjson.JSONDecodeError:  # a forwarded batch's reference, not a record
            out["payload"] = summary(payload, sensitive=True, hash_key=hash_key)
    out["deliveries"] = [
        {
            **d,
            "sent": summary(d.get("sent"), sensitive=True, hash_key=hash_key),
            "response": summary(d.get("response"), d.get("media_type"), sensitive=True, hash_key=hash_key),
        }
        for d in detail.get("deliveries", [])
    ]
    return out


def mask_dead_letter(data: dict[str, Any], hash_key: bytes | None) -> dict[str, Any]:
    """A dead letter of an interface with sensitive fields: fragment (or kept page) and response summarised."""
    return {
        **data,
        "fragment": summary(data.get("fragment") or None, sensitive=True, hash_key=hash_key),
        "response": summary(data.get("response"), sensitive=True, hash_key=hash_key),
    }
