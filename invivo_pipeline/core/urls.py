"""Checks every source's base URL passes before any request or message uses it."""

from __future__ import annotations

import ipaddress

from invivo_pipeline.core.errors import ConfigError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_userinfo(raw: str, setting: str) -> None:
    """Refuse a URL with ``user:password@`` before any message can print it.

    Checked first, on the text as typed (scheme or not, host or not), because every later message
    quotes the URL; and httpx would send the userinfo as Basic auth in place of the token.
    """
    after_scheme = raw.split("://", 1)[-1]
    authority = after_scheme.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        raise ConfigError(
            f"{setting} must not carry credentials (user:password@host); "
            "give them in their own settings"
        )
