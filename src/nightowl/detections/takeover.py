"""Python step of the dormant-account detection: account creation dates from the directory export,
when one was ingested, so a new hire's first sign-in is not mistaken for a dormant account waking."""

from __future__ import annotations

from typing import Any

from nightowl.engines import Engine


def account_dates(engine: Engine, params: dict[str, Any]) -> None:
    """``account_created(user_name, created)``: empty when no directory export was ingested."""
    source = (
        "SELECT lower(upn) AS user_name, min(created) AS created FROM accounts "
        "WHERE upn IS NOT NULL GROUP BY lower(upn)"
        if engine.has_table("accounts")
        else "SELECT CAST(NULL AS VARCHAR) AS user_name, CAST(NULL AS TIMESTAMP) AS created WHERE false"
    )
    engine.execute(f"CREATE OR REPLACE TEMP TABLE account_created AS {source}")
