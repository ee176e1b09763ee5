"""Incremental hunts: a daily job reads the new days and the look-back its windows need, and reports
only what it has not reported before.

``hunt --since DAY`` reports the findings whose activity reaches DAY or later. On Spark the lake's
sign-in partitions before ``DAY - lookback`` are never read (``day=`` folders of the Parquet lake,
``y=/m=/d=`` folders of diagnostic-settings archives), so a window that spans days (a slow spray's
session, the 72-hour grace after an attack, a behaviour baseline, the 30-day credential window)
still sees the earlier days; directory, audit and mailbox tables are small and read whole. The
DuckDB engine reads its whole store and only filters what it reports.

``--state DIR`` remembers what was reported (finding id -> fingerprint, first and last report) and
the last day seen: without ``--since``, the next run starts at that day (re-read: late events are
not lost; nothing is reported twice). A finding comes back only when it changed (more users or
addresses, a later last activity, a new severity): marked ``incremental: updated``; a new one is
``incremental: new``. The folder also carries the takeover profiles' aggregates (see
:mod:`nightowl.detections.profile_history`), so a takeover is judged on the identity's whole history,
not only on the look-back.

Decisions: the look-back defaults to 30 days (the longest sign-in window a rule declares is the
30-day credential window of cloud.app_signin; a slow spray's session or a 72-hour grace fit well
inside). A finding that only an earlier day holds is not reported again even if a longer look-back
would change it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nightowl.detections import profile_history
from nightowl.detections.profile_history import ProfileHistory
from nightowl.findings import Finding
from nightowl.sources.base import InputError

LOOKBACK_DAYS = 30
STATE_FILE = "nightowl-state.json"
STATE_VERSION = 1


@dataclass
class HuntState:
    folder: Path
    last_day: str | None = None  # the latest day with events seen by a run
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> HuntState:
        path = folder / STATE_FILE
        if not path.exists():
            return cls(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"state version {data.get('version')!r}, expected {STATE_VERSION}")
            return cls(folder, data.get("last_day"), dict(data["reported"]), list(data.get("runs", [])))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a nightowl hunt state ({exc})") from None

    def profile_history(self) -> ProfileHistory:
        """The takeover profiles this folder carries from run to run (see profile_history)."""
        return ProfileHistory(self.folder, earlier_run=self.last_day is not None)

    def save(self) -> None:
        """Atomically (a crash mid-write leaves the previous state), with the takeover profiles the run
        staged."""
        self.folder.mkdir(parents=True, exist_ok=True)
        body = {"version": STATE_VERSION, "last_day": self.last_day, "reported": self.reported,
                "runs": self.runs[-100:]}  # fmt: skip
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.folder / STATE_FILE)
        profile_history.commit(self.folder)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(f"--since {text!r}: give a day as YYYY-MM-DD") from None


def window(since: str | None, state: HuntState | None, lookback_days: int) -> tuple[date | None, date | None]:
    """(first day to report, first day to read); both None for a full hunt."""
    if lookback_days < 0:
        raise InputError("--lookback-days must be 0 or more")
    start = parse_day(since) if since else (parse_day(state.last_day) if state and state.last_day else None)
    if start is None:
        return None, None
    return start, start - timedelta(days=lookback_days)


def fingerprint(f: Finding) -> str:
    """What makes a finding worth reporting again when it changes."""
    parts = [f.severity, f.first_seen, f.last_seen, sorted(f.users), sorted(f.source_ips),
             sorted(f.compromised_users)]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def select(
    findings: list[Finding], start: date | None, state: HuntState | None, last_event: str | None
) -> tuple[list[Finding], int]:
    """The findings to report (new or changed, with activity on or after ``start``) and how many
    were left out as reported before; records them in ``state`` (saved by the caller)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    out, repeated = [], 0
    for f in findings:
        if start is not None and f.last_seen and f.last_seen[:10] < start.isoformat():
            continue  # all before the new days: an earlier run's business
        if state is None:
            out.append(f)
            continue
        fp, seen = fingerprint(f), state.reported.get(f.id)
        if seen is not None and seen["fingerprint"] == fp:
            repeated += 1
            continue
        f.extra["incremental"] = "updated" if seen else "new"
        state.reported[f.id] = {
            "fingerprint": fp,
            "first_reported": seen["first_reported"] if seen else now,
            "last_reported": now,
            "last_seen": f.last_seen,
        }
        out.append(f)
    if state is not None:
        if last_event and (state.last_day is None or last_event[:10] > state.last_day):
            state.last_day = last_event[:10]
        state.runs.append({"at": now, "since": start.isoformat() if start else None, "reported": len(out),
                           "already_reported": repeated})  # fmt: skip
    return out, repeated
