"""The labelled tenant simulator behind ``nightowl simulate`` and ``nightowl demo``.

``simulate(config, out_dir)`` writes Entra sign-ins (Graph beta NDJSON, optionally the portal
CSVs), the directory exports, the post-compromise chain (audit, mail access, mailboxes) and
``truth.json``. Ordinary days are generated as numpy columns and streamed to disk one day at a
time; the few labelled events (traps, attacks, chain) are merged into each day in time order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nightowl.simulate.app_signins import run_app_signins
from nightowl.simulate.attacks import run_attack
from nightowl.simulate.benign import DAY, BenignModel, Block, _epoch
from nightowl.simulate.chain import run_chain
from nightowl.simulate.config import ATTACK_KINDS, PRESETS, TAKEOVER_KINDS, AttackSpec, SimConfig
from nightowl.simulate.population import Tenant, build_tenant
from nightowl.simulate.render import GraphRenderer
from nightowl.simulate.secret_use import run_secret_use, write_secret_use
from nightowl.simulate.takeover import run_takeover
from nightowl.simulate.takeover_traps import build_takeover_traps
from nightowl.simulate.traps import build_traps
from nightowl.simulate.truth import Truth, iso
from nightowl.simulate.writers import SignInSink, write_json, write_jsonl

__all__ = ["ATTACK_KINDS", "PRESETS", "TAKEOVER_KINDS", "AttackSpec", "SimConfig", "SimResult", "simulate"]

EVENTS_PER_USER_DAY = 17.5  # measured average at scale 1.0 (benign, weekdays and weekends mixed)
CHUNK = 50_000


@dataclass
class SimResult:
    out_dir: Path
    files: dict[str, Path]
    truth: Truth
    signin_count: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _users_for(cfg: SimConfig) -> int:
    if not cfg.target_events:
        return cfg.users
    return max(cfg.users, int(cfg.target_events / (EVENTS_PER_USER_DAY * cfg.days)))


def simulate(config: SimConfig, out_dir: Path) -> SimResult:
    """Generate the tenant into ``out_dir`` (created if missing). Deterministic for a config."""
    t_begin = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = config.period_start()
    tn = build_tenant(config.seed, _users_for(config), start, config.days)
    model = BenignModel(tn, config.seed)
    base = _epoch(start)
    truth = Truth(
        config.seed,
        {
            "tenant_id": tn.tenant_id,
            "domain": tn.domain,
            "initial_domain": tn.initial_domain,
            "users": len(tn.users),
            "test_accounts": [tn.users[i].upn.lower() for i in tn.test_accounts],
            "service_accounts": [tn.users[i].upn.lower() for i in tn.service_accounts],
        },
        {"start": iso(base), "end": iso(base + config.days * DAY)},
    )

    specials: list[dict[str, Any]] = []
    if config.benign_traps:
        for evs, lab in build_traps(tn, config.seed):
            specials += evs
            truth.benign_traps.append(lab)
    if config.takeover_traps:
        for evs, lab in build_takeover_traps(tn, config.seed):
            specials += evs
            truth.benign_traps.append(lab)
    chain_info = None
    for n, spec in enumerate(config.attacks):
        if spec.kind in TAKEOVER_KINDS:
            evs, lab = run_takeover(tn, spec, config.seed, n)
            specials += evs
            truth.campaigns.append(lab)
            continue
        evs, lab, info = run_attack(tn, spec, config.seed, n)
        specials += evs
        truth.campaigns.append(lab)
        if spec.kind == "distributed" and info and chain_info is None:
            chain_info = (info, lab)
    files: dict[str, Path] = {}
    chain_out = None
    if config.chain:
        if chain_info is None:
            raise ValueError(
                "chain=True but the distributed attack compromised no account (compromise=False?)"
            )
        chain_out = run_chain(tn, config.seed, chain_info[0], out_dir)
        specials += chain_out.signins
        truth.chain = chain_out.truth
        truth.benign_traps += chain_out.traps

    # the renderer must see every user (the chain adds one) before it caches fragments
    renderer = GraphRenderer(tn)
    label = f"{start:%Y-%m-%d}_{start + timedelta(days=config.days):%Y-%m-%d}"
    sink = SignInSink(out_dir, config.formats, label)
    n_users = len(tn.users)
    last_i = np.full(n_users, -1, np.int64)
    last_n = np.full(n_users, -1, np.int64)
    last_ok = np.full(n_users, -1, np.int64)
    by_day: dict[int, list[dict[str, Any]]] = {}
    for e in specials:
        e["t"] = int(min(max(e["t"], base), base + config.days * DAY - 1))
        by_day.setdefault((e["t"] - base) // DAY, []).append(e)
    scale = 1.0
    rng_ids = np.random.default_rng(np.random.SeedSequence([config.seed, 900]))
    for d in range(config.days):
        blk: Block = model.day(d, scale)
        spec_d = sorted(by_day.get(d, []), key=lambda e: e["t"])
        nb = len(blk.t)
        all_t = np.concatenate([blk.t, np.array([e["t"] for e in spec_d], np.int64)])
        order = np.argsort(all_t, kind="stable")
        _track(blk, last_i, last_n, last_ok)
        for e in spec_d:
            u = e.get("user")
            if u is not None:
                arr = last_i if e.get("inter", True) else last_n
                arr[u] = max(arr[u], e["t"])
                if e["code"] == 0:
                    last_ok[u] = max(last_ok[u], e["t"])
        for c in range(0, len(order), CHUNK):
            part = order[c : c + CHUNK]
            bulk_pos = part[part < nb]
            lines = renderer.bulk_lines(
                rng_ids,
                blk.t[bulk_pos],
                blk.user[bulk_pos],
                blk.dev[bulk_pos],
                blk.app[bulk_pos],
                blk.ip[bulk_pos],
                blk.code[bulk_pos],
                blk.inter[bulk_pos],
            )
            if len(bulk_pos) == len(part):
                sink.write(lines)
                continue
            merged, it = [], iter(lines)
            for p in part.tolist():
                merged.append(
                    next(it) if p < nb else orjson.dumps(renderer.record(rng_ids, spec_d[p - nb])) + b"\n"
                )
            sink.write(merged)
    sink.close()
    files.update(sink.paths)

    apps = run_app_signins(
        tn, config.seed, chain_out.truth if chain_out else None,
        chain_info[1].source_ips if chain_info else [], base, base + config.days * DAY,
    )  # fmt: skip
    files["app_signins"] = write_jsonl(out_dir / "app_signins.jsonl", apps.records)
    truth.counts["app_signins"] = len(apps.records)
    if chain_out is not None:
        truth.chain["app_signins"] = apps.truth
        used = run_secret_use(
            tn, config.seed, chain_out.truth, chain_info[1].source_ips, base, base + config.days * DAY
        )
        files.update(write_secret_use(out_dir, used))
        truth.chain["secret_use"] = used.truth
        files["audit"] = write_jsonl(out_dir / "audit.jsonl", chain_out.audit)
        files["mail_access"] = write_jsonl(out_dir / "mail_access.jsonl", chain_out.mail_access)
        files["mail"] = out_dir / "mail"
        truth.counts["audit_records"] = len(chain_out.audit)
        truth.counts["mail_access_records"] = len(chain_out.mail_access)
    if config.directory:
        files.update(_directory(tn, out_dir, config.seed, last_i, last_n, last_ok))
    truth.counts["signins"] = sink.count
    truth.counts["campaign_events"] = sum(c.event_count for c in truth.campaigns)
    truth.counts["trap_events"] = sum(t.event_count for t in truth.benign_traps)
    files["truth"] = write_json(out_dir / "truth.json", truth.to_dict())
    return SimResult(out_dir, files, truth, sink.count, time.perf_counter() - t_begin)


def _track(blk: Block, last_i: np.ndarray, last_n: np.ndarray, last_ok: np.ndarray) -> None:
    """Keep each user's latest sign-in times for users.json signInActivity."""
    for arr, m in ((last_i, blk.inter), (last_n, ~blk.inter)):
        np.maximum.at(arr, blk.user[m], blk.t[m])
    ok = blk.code == 0
    np.maximum.at(last_ok, blk.user[ok], blk.t[ok])


def _directory(tn: Tenant, out_dir: Path, seed: int, last_i, last_n, last_ok) -> dict[str, Path]:
    """Graph users (with signInActivity) and userRegistrationDetails."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 700]))
    base = _epoch(tn.start)
    users, reg = [], []
    methods_for = {
        0: "microsoftAuthenticatorPush",
        1: "mobilePhone",
        2: "softwareOneTimePasscode",
        3: "mobilePhone",
        4: "fido2",
        5: "windowsHelloForBusiness",
    }

    def when(x: int, fallback_days: float | None) -> str | None:
        if x >= 0:
            return iso(x)
        return iso(base - fallback_days * DAY) if fallback_days is not None else None

    for u in tn.users:
        quiet = u.kind == "test"
        fb = (
            float(rng.uniform(200, 1500))
            if quiet and rng.random() < 0.8
            else (float(rng.uniform(1, 20)) if not quiet else None)
        )
        enabled = u.disabled_at is None
        users.append(
            {
                "id": u.id,
                "displayName": u.display,
                "userPrincipalName": u.upn,
                "accountEnabled": enabled,
                "userType": "Guest" if u.kind == "guest" else "Member",
                "department": u.department or None,
                "createdDateTime": u.created.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "signInActivity": {
                    "lastSignInDateTime": when(int(last_i[u.idx]) if u.idx < len(last_i) else -1, fb),
                    "lastSignInRequestId": None,
                    "lastNonInteractiveSignInDateTime": when(
                        int(last_n[u.idx]) if u.idx < len(last_n) else -1, fb
                    ),
                    "lastNonInteractiveSignInRequestId": None,
                    "lastSuccessfulSignInDateTime": when(
                        int(last_ok[u.idx]) if u.idx < len(last_ok) else -1, fb
                    ),
                    "lastSuccessfulSignInRequestId": None,
                },
            }
        )
        methods = []
        if u.mfa:
            methods = sorted({methods_for[u.mfa_method], *(["email"] if rng.random() < 0.3 else [])})
        elif u.kind in ("member", "admin") and rng.random() < 0.3:
            methods = ["email"]
        reg.append(
            {
                "id": u.id,
                "userPrincipalName": u.upn,
                "userDisplayName": u.display,
                "userType": "guest" if u.kind == "guest" else "member",
                "isAdmin": u.is_admin,
                "isMfaRegistered": u.mfa,
                "isMfaCapable": u.mfa,
                "isPasswordlessCapable": u.mfa_method in (4, 5) and u.mfa,
                "isSsprRegistered": bool(methods),
                "isSsprEnabled": u.kind in ("member", "admin"),
                "isSsprCapable": bool(methods) and u.kind in ("member", "admin"),
                "isSystemPreferredAuthenticationMethodEnabled": True,
                "methodsRegistered": methods,
                "defaultMfaMethod": methods[0] if methods else "none",
                "lastUpdatedDateTime": iso(base - float(rng.uniform(1, 400)) * DAY),
            }
        )
    ctx = "https://graph.microsoft.com/beta/$metadata#"
    return {
        "users": write_json(out_dir / "users.json", {"@odata.context": ctx + "users", "value": users}),
        "registration": write_json(
            out_dir / "registration.json",
            {"@odata.context": ctx + "reports/authenticationMethods/userRegistrationDetails", "value": reg},
        ),
    }
