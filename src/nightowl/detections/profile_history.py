"""The takeover profiles' history, carried from one incremental hunt to the next in its state folder.

A daily hunt reads only the new days and a look-back (see :mod:`nightowl.incremental`), but a takeover
rule judges a sign-in against the identity's whole history: a network it used two months ago is not
new. Everything ``profiles.sql`` derives is a function of three small aggregates, so the state keeps
those and nothing else (never events):

* ``signin_combos``: one row per identity, day and combination of properties;
* ``hours``: successes per identity, day and hour of day (``identity_hours`` sums them);
* ``first_events`` and ``log_span``: each identity's first attempt and the logs' first event (the
  dormant-account rule's "silent since the logs began").

A run keeps the saved rows of the days before the first day it reads and takes its own rows from that
day on (a day is always re-read whole: the last day seen is the next run's first), so the merged
tables are those a hunt of the whole history builds. The merged tables are staged beside the state and
become the saved history only when the state is saved (a crashed run leaves the previous one).

State written by a nightowl without profiles, by the other engine (its device keys differ) or with
other columns is not merged: that run judges takeovers on its look-back, says so, and saves fresh
profiles for the next run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from nightowl.sources.records.sql import sql_str

SAVED = "profiles"
STAGED = ".profiles-new"
META = "meta.json"
VERSION = 1
# saved file name -> the run's table it is written from
TABLES = {
    "signin_combos": "signin_combos",
    "hours": "profile_hours",
    "first_events": "identity_first_events",
    "log_span": "log_span",
}

FIRST_EVENTS = """
CREATE OR REPLACE TEMP TABLE identity_first_events AS
SELECT user_name, min(first_event) AS first_event, bool_or(guest) AS guest
FROM (
    SELECT user_name, min(time) AS first_event, bool_or(coalesce(user_type, '') = 'guest') AS guest
    FROM auth_events
    WHERE user_name IS NOT NULL AND time IS NOT NULL
    GROUP BY user_name
    {history}
) f
GROUP BY user_name"""
LOG_SPAN = """
CREATE OR REPLACE TEMP TABLE log_span AS
SELECT min(data_start) AS data_start
FROM (SELECT min(time) AS data_start FROM auth_events WHERE time IS NOT NULL {history}) s"""
HOURS = """
CREATE OR REPLACE TEMP TABLE profile_hours AS
SELECT user_name, day, hour_utc, count(*) AS n FROM ok_signins GROUP BY user_name, day, hour_utc
{history}"""


@dataclass
class ProfileHistory:
    """The profiles saved under ``folder`` (a hunt state folder); ``earlier_run``: the state says a
    run happened before (so missing profiles are worth a notice)."""

    folder: Path
    earlier_run: bool = False
    notices: list[str] = field(default_factory=list)
    boundary: date | None = None  # the first day this run read: saved rows before it are kept
    merged: bool = False

    @property
    def saved(self) -> Path:
        return self.folder / SAVED

    @property
    def staged(self) -> Path:
        return self.folder / STAGED

    def _usable(self, engine: Any, columns: list[str]) -> bool:
        """Whether the saved profiles can be merged into this run's, with a notice when not."""
        meta_path = self.saved / META
        if not meta_path.exists():
            if self.earlier_run:
                self._notice("it holds no takeover profiles (written by an older nightowl)")
            return False
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self._notice(f"its takeover profiles are unreadable ({exc})")
            return False
        if meta.get("version") != VERSION or meta.get("columns") != columns:
            self._notice("its takeover profiles were written by another nightowl version")
            return False
        if meta.get("engine") != engine.name:
            self._notice(f"its takeover profiles were written by the {meta.get('engine')} engine")
            return False
        return True

    def _notice(self, why: str) -> None:
        self.notices.append(
            f"{self.folder}: {why}: takeovers are judged on this run's look-back only; "
            "this run's profiles are saved for the next"
        )


def carry(engine: Any, history: ProfileHistory | None) -> None:
    """At ``profiles.sql``'s hook, after ``signin_combos`` is built from the events read: the dormant
    rule's first events, and (incremental hunts) ``signin_combos`` with the earlier days added."""
    merge = history is not None and _load(engine, history)
    earlier = "UNION ALL SELECT {} FROM history_{}" if merge else ""
    engine.execute(FIRST_EVENTS.format(history=earlier.format("*", "first_events")))
    engine.execute(LOG_SPAN.format(history=earlier.format("data_start", "log_span")))
    if merge and history is not None:
        cols = ", ".join(_columns(engine, "signin_combos"))
        engine.execute(
            f"CREATE OR REPLACE TEMP TABLE signin_combos AS SELECT {cols} FROM signin_combos "
            f"UNION ALL SELECT {cols} FROM history_signin_combos WHERE day < DATE '{history.boundary}'"
        )


def finish(engine: Any, history: ProfileHistory | None) -> None:
    """After ``profiles.sql``: ``identity_hours`` with the earlier days, and the merged profiles staged
    for the state folder."""
    if history is None or history.boundary is None:
        return
    day = f"DATE '{history.boundary}'"
    engine.execute(
        HOURS.format(
            history=f"UNION ALL SELECT * FROM history_hours WHERE day < {day}" if history.merged else ""
        )
    )
    if history.merged:
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE identity_hours AS SELECT user_name, hour_utc, "
            "CAST(sum(n) AS BIGINT) AS n FROM profile_hours GROUP BY user_name, hour_utc"
        )
    shutil.rmtree(history.staged, ignore_errors=True)
    history.staged.mkdir(parents=True)
    for name, table in TABLES.items():
        _write(engine, table, history.staged / f"{name}.parquet")
    meta = {"version": VERSION, "engine": engine.name, "columns": _columns(engine, "signin_combos"),
            "first_day_read": str(history.boundary)}  # fmt: skip
    (history.staged / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")  # written last


def commit(folder: Path) -> None:
    """Make the staged profiles (complete: their metadata is written last) the saved ones."""
    staged, saved, old = folder / STAGED, folder / SAVED, folder / (SAVED + ".old")
    if not (staged / META).exists():
        return
    shutil.rmtree(old, ignore_errors=True)
    if saved.exists():
        saved.rename(old)
    staged.rename(saved)
    shutil.rmtree(old, ignore_errors=True)


def _load(engine: Any, history: ProfileHistory) -> bool:
    """Register the saved profiles as ``history_<table>`` when they can be merged."""
    _, rows = engine.fetch("SELECT CAST(min(time) AS DATE) FROM auth_events WHERE time IS NOT NULL")
    history.boundary = rows[0][0]
    if history.boundary is None or not history._usable(engine, _columns(engine, "signin_combos")):
        return False
    for name in TABLES:
        _read(engine, history.saved / f"{name}.parquet", f"history_{name}")
    history.merged = True
    return True


def _columns(engine: Any, table: str) -> list[str]:
    names, _ = engine.fetch(f"SELECT * FROM {table} LIMIT 0")
    return names


def _write(engine: Any, table: str, path: Path) -> None:
    if engine.name == "spark":
        engine.spark.table(table).write.mode("overwrite").parquet(str(path))
    else:
        engine.execute(f"COPY {table} TO {sql_str(str(path))} (FORMAT parquet)")


def _read(engine: Any, path: Path, table: str) -> None:
    if engine.name == "spark":
        engine.spark.read.parquet(str(path)).createOrReplaceTempView(table)
    else:
        engine.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_parquet({sql_str(str(path))})"
        )
