"""Python step of ``cloud.app_signin``: the rule joins the directory audit log when it was given;
an empty ``directory_audit`` table stands in when only sign-ins were ingested, so the rule still
reports applications signing in from networks they never used."""

from __future__ import annotations

from typing import Any

from nightowl.audit_schema import DIRECTORY_AUDIT_SCHEMA
from nightowl.store import Store


def ensure_tables(store: Store, params: dict[str, Any]) -> None:
    store.ensure_table("directory_audit", DIRECTORY_AUDIT_SCHEMA)
