"""Startup probes of `formc serve`: is the action server the bot needs reachable?"""
from __future__ import annotations

import socket
from typing import Any, Optional
from urllib.parse import urlsplit


def custom_action_names(machine: Any) -> list[str]:
    """The domain's own actions that run on the action server (not responses)."""
    actions = getattr(machine.domain, "actions", ()) or ()
    names = [getattr(a, "name", a) for a in actions]
    return sorted(str(n) for n in names if not str(n).startswith("utter_"))


def action_server_warning(bot: Any, timeout: float = 2.0) -> Optional[str]:
    """One line when the bot has custom actions and its action server does not accept a
    connection; None when reachable or not needed."""
    names = custom_action_names(bot.machine)
    client = getattr(bot.agent, "action_client", None)
    endpoint = getattr(client, "endpoint", None)
    url = getattr(endpoint, "url", None)
    if not names:
        return None
    if not url:
        return (f"no action_endpoint configured: {len(names)} custom action(s) will fail "
                "until one is (endpoints.yml action_endpoint)")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=timeout):
            return None
    except OSError as e:
        return (f"the action server {url} is not reachable ({e.strerror or e}): "
                f"{len(names)} custom action(s) will fail until it is")
