"""Microsoft's national clouds: where to sign in, where Graph is, where the Management Activity API is.

From Microsoft's "National cloud deployments" (Graph) and "Office 365 Management Activity API
reference" (the ``manage`` roots per plan). GCC (moderate) signs in and calls Graph in the global
cloud but has its own Management API root; ``usgov`` is GCC High (Graph's "US Government L4"),
``usgov-dod`` is DoD ("L5"), ``china`` is operated by 21Vianet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Cloud:
    name: str
    login: str  # the MSAL authority host
    graph: str  # Microsoft Graph root (the token's resource too)
    manage: str  # Office 365 Management Activity API root (the token's resource too)


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("global", "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://manage.office.com"),
        Cloud("gcc", "https://login.microsoftonline.com", "https://graph.microsoft.com", "https://manage-gcc.office.com"),
        Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us", "https://manage.office365.us"),
        Cloud("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", "https://manage.protection.apps.mil"),
        Cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", "https://manage.office365.cn"),
    )
}  # fmt: skip


def cloud(name: str, login: str | None = None, graph: str | None = None, manage: str | None = None) -> Cloud:
    """A named cloud, with any endpoint overridden (a private endpoint, a proxy, or a test server)."""
    try:
        base = CLOUDS[name]
    except KeyError:
        raise ValueError(f"unknown cloud {name!r} (known: {', '.join(CLOUDS)})") from None
    over = {k: v.rstrip("/") for k, v in {"login": login, "graph": graph, "manage": manage}.items() if v}
    return replace(base, **over)
