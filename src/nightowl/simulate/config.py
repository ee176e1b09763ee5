"""What to simulate: one dataclass, a few presets.

Every attack is an :class:`AttackSpec` (kind + optional parameters); several may run in one
tenant. Anything left unset (start day, target counts, fingerprints) is drawn from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

# guessing came last (2026-12-08): the campaigns before it keep their seeds' draws, so earlier figures stand
ATTACK_KINDS = ("single_source", "slow", "distributed", "bruteforce", "stuffing", "enumeration", "guessing")
# takeovers without a password attack (simulate/takeover.py); not part of "mixed"
TAKEOVER_KINDS = ("phish_proxy", "aitm_replay", "dormant_revival", "slow_takeover")
FORMATS = ("graph", "csv")
PRESETS = ("demo", "benign", *ATTACK_KINDS, "mixed", "takeover", "takeover_benign")


@dataclass
class AttackSpec:
    """One campaign. ``params`` override the seed's choices (see attacks.py for each kind's keys)."""

    kind: str
    start_day: float | None = None  # days after the period start; drawn when None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS + TAKEOVER_KINDS:
            kinds = ", ".join(ATTACK_KINDS + TAKEOVER_KINDS)
            raise ValueError(f"unknown attack kind {self.kind!r}; choose from {kinds}")


@dataclass
class SimConfig:
    """A simulated tenant. Same config (seed included) -> byte-identical output."""

    seed: int = 1
    users: int = 3000
    days: int = 7
    start: datetime | None = None  # UTC; default: a Monday chosen from the seed
    attacks: list[AttackSpec] = field(default_factory=list)
    benign_traps: bool = True
    takeover_traps: bool = False  # travellers, new phones, a VPN rollout... (simulate/takeover_traps.py)
    chain: bool = False
    formats: tuple[str, ...] = ("graph",)
    target_events: int | None = None  # scale the tenant (more users) to about this many sign-ins
    directory: bool = True  # write users.json and registration.json

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown output format {bad[0]!r}; choose from {', '.join(FORMATS)}")
        if self.users < 20:
            raise ValueError("users must be at least 20")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.chain and not any(a.kind == "distributed" for a in self.attacks):
            raise ValueError("chain=True needs a distributed attack (it starts from that compromise)")

    def period_start(self) -> datetime:
        """The first day, 00:00 UTC: a Monday between 2023 and 2025, drawn from the seed."""
        if self.start is not None:
            s = self.start if self.start.tzinfo else self.start.replace(tzinfo=UTC)
            return s.astimezone(UTC).replace(tzinfo=None)
        base = datetime(2023, 1, 2)  # a Monday
        return base + timedelta(weeks=(self.seed * 7919) % 150)

    # -- presets --------------------------------------------------------------------------------
    @classmethod
    def demo(cls, seed: int = 7, **over: Any) -> SimConfig:
        """A Midnight Blizzard-like month: distributed spray, no-MFA test account compromised, chain."""
        cfg = cls(
            seed=seed,
            users=1500,
            days=30,
            attacks=[AttackSpec("distributed", params={"compromise": True})],
            chain=True,
        )
        return replace(cfg, **over) if over else cfg

    @classmethod
    def benign(cls, seed: int = 1, users: int = 3000, days: int = 7, **over: Any) -> SimConfig:
        """A normal week: traps on, no attack."""
        return cls(seed=seed, users=users, days=days, attacks=[], **over)

    @classmethod
    def preset(cls, name: str, seed: int = 1, **over: Any) -> SimConfig:
        """``demo``, ``benign``, ``mixed``, ``takeover``, ``takeover_benign`` or one attack kind on a 3,000-user week."""
        if name == "demo":
            return cls.demo(seed, **over)
        if name == "benign":
            return cls.benign(seed, **over)
        if name == "mixed":
            attacks = [AttackSpec(k) for k in ATTACK_KINDS]
            return cls(seed=seed, attacks=attacks, days=max(over.pop("days", 14), 7), **over)
        if name == "takeover":  # every takeover kind, among the benign look-alikes of one
            attacks = [AttackSpec(k) for k in TAKEOVER_KINDS]
            return cls(seed=seed, days=over.pop("days", 14), attacks=attacks, takeover_traps=True, **over)
        if name == "takeover_benign":
            return cls(seed=seed, days=over.pop("days", 14), attacks=[], takeover_traps=True, **over)
        if name in ATTACK_KINDS:
            days = over.pop("days", 14 if name in ("distributed", "slow") else 7)
            return cls(seed=seed, days=days, attacks=[AttackSpec(name)], **over)
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
