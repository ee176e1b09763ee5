"""Microsoft Graph listings: sign-ins (four kinds), directory audits, registration details, users.

Sign-ins come from ``/beta/auditLogs/signIns``: v1.0 returns interactive sign-ins only, and the beta
endpoint returns the other kinds only when ``signInEventTypes`` is filtered on, so each kind is its
own stream (and folder). Every listing pages with ``@odata.nextLink``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nightowl.collect.http import Client
from nightowl.collect.streams import Cursor, Page, TimeRange, iso, with_query

SIGNIN_KINDS = {  # folder suffix -> signInEventTypes value
    "interactive": "interactiveUser",
    "noninteractive": "nonInteractiveUser",
    "serviceprincipal": "servicePrincipal",
    "managedidentity": "managedIdentity",
}
AUDIT = ("AuditLog.Read.All",)
USERS_SELECT = (
    "id,userPrincipalName,displayName,accountEnabled,userType,createdDateTime,"
    "lastPasswordChangeDateTime,onPremisesSyncEnabled,signInActivity"
)


@dataclass(frozen=True)
class GraphListing:
    """One Graph collection followed through its next links."""

    name: str
    format: str
    first_url: str
    permissions: tuple[tuple[str, ...], ...]

    def start(self) -> Cursor:
        return {"url": self.first_url}

    def pages(self, client: Client, cursor: Cursor) -> Iterator[Page]:
        url: str | None = cursor["url"]
        while url:
            body = client.get(url).json()
            url = body.get("@odata.nextLink")
            yield list(body.get("value") or []), ({"url": url} if url else None)


def graph_streams(graph: str, span: TimeRange, kinds: list[str], page_size: int = 999) -> list[GraphListing]:
    """The streams ``nightowl collect entra`` reads (``kinds``: signins, audits, registration, users)."""
    between = f"ge {iso(span.since)} and {{field}} lt {iso(span.until)}"
    out: list[GraphListing] = []
    if "signins" in kinds:
        for suffix, event_type in SIGNIN_KINDS.items():
            flt = f"createdDateTime {between.format(field='createdDateTime')}"
            flt += f" and signInEventTypes/any(t: t eq '{event_type}')"
            url = with_query(f"{graph}/beta/auditLogs/signIns", {"$filter": flt, "$top": page_size})
            out.append(GraphListing(f"entra-signins-{suffix}", "entra-graph-json", url, (AUDIT,)))
    if "audits" in kinds:
        flt = f"activityDateTime {between.format(field='activityDateTime')}"
        url = with_query(f"{graph}/v1.0/auditLogs/directoryAudits", {"$filter": flt, "$top": page_size})
        out.append(GraphListing("entra-directory-audits", "entra-audit-json", url, (AUDIT,)))
    if "registration" in kinds:
        url = with_query(
            f"{graph}/v1.0/reports/authenticationMethods/userRegistrationDetails", {"$top": page_size}
        )
        out.append(GraphListing("entra-registration-details", "entra-accounts-json", url, (AUDIT,)))
    if "users" in kinds:
        # signInActivity needs AuditLog.Read.All on top of reading users; its page size is capped at 120.
        url = with_query(f"{graph}/v1.0/users", {"$select": USERS_SELECT, "$top": min(page_size, 120)})
        perms = (AUDIT, ("User.Read.All", "Directory.Read.All"))
        out.append(GraphListing("entra-users", "entra-accounts-json", url, perms))
    return out
