"""The incident model: a timeline of steps (findings in chain order), its entities, the story told in a
few sentences and the recommended actions; ``to_dict`` is its shape in the findings document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nightowl.categories import STAGES
from nightowl.findings import Finding


@dataclass
class Step:
    """One finding in an incident's timeline."""

    stage: str
    finding: Finding
    when: str | None

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {
            "stage": self.stage,
            "stage_label": self.stage_label,
            "when": self.when,
            "finding_id": f.id,
            "category": f.category,
            "severity": f.severity,
            "title": f.title,
            "summary": f.summary,
        }


@dataclass
class Action:
    """A recommended response step; ``targets`` are the exact accounts/apps/secrets it applies to."""

    text: str
    targets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "targets": self.targets}


@dataclass
class Incident:
    id: str
    title: str
    severity: str
    first_seen: str | None
    last_seen: str | None
    steps: list[Step]
    entities: dict[str, Any]
    actions: list[Action]
    story: list[str]  # the incident in a few plain sentences, for the summary

    @property
    def finding_ids(self) -> list[str]:
        return [s.finding.id for s in self.steps]

    @property
    def stages(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            if s.stage not in seen:
                seen.append(s.stage)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "stages": self.stages,
            "timeline": [s.to_dict() for s in self.steps],
            "entities": self.entities,
            "actions": [a.to_dict() for a in self.actions],
            "story": self.story,
        }


def incidents_document(incidents: list[Incident]) -> list[dict[str, Any]]:
    """Incidents as JSON-ready dicts (for ``document(..., incidents=...)``)."""
    return [i.to_dict() for i in incidents]
