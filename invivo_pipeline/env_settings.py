"""Counts read from environment variables (threads, workers, bytes): one rule and one message
for all of them, so every such setting fails the same clear way."""

from __future__ import annotations

from collections.abc import Mapping


def positive_int(
    env: Mapping[str, str], name: str, default: int, error: type[Exception] = ValueError
) -> int:
    """``env[name]`` as a whole number of at least 1, else ``default`` when unset or empty;
    anything else raises ``error`` naming the variable and the value (``"²"`` too, which
    ``str.isdigit`` accepts and ``int`` does not)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise error(f"{name}={raw!r} is not a whole number of at least 1")
    return int(raw)
