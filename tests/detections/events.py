"""Build sequences of normalized events for detection tests (what a source would have produced)."""

from __future__ import annotations

from datetime import datetime, timedelta

from nightowl.detections.runner import run_all
from nightowl.findings import Finding
from nightowl.schema import batch_from_rows
from nightowl.store import Store

T0 = datetime(2026, 3, 2, 8, 0, 0)  # a Monday morning

STATUS = {
    "ok": (1, "SUCCESS", True, "0"),
    "bad_password": (2, "INVALID_CREDENTIALS", False, "50126"),
    "no_user": (2, "USER_DOES_NOT_EXIST", False, "50034"),
    "locked": (2, "ACCOUNT_LOCKED_OUT", False, "50053"),
    "expired": (2, "PASSWORD_EXPIRED", True, "50055"),
    "mfa_required": (2, "MFA_REQUIRED", True, "50076"),
    "unknown": (0, "OTHER", None, "4648"),
}


class Events:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(
        self,
        minutes: float,
        user: str,
        ip: str,
        status: str = "bad_password",
        *,
        ua: str = "Mozilla/5.0 test",
        app: str = "Office 365 Exchange Online",
        client: str = "Browser",
        mfa: bool | None = None,
        legacy: bool = False,
        asn: int | None = None,
        **columns: object,
    ) -> None:
        """One event; ``columns`` sets any other auth_events column (src_country, device_id, session_id...)."""
        status_id, detail, pw_ok, code = STATUS[status]
        self.rows.append(
            {
                "time": T0 + timedelta(minutes=minutes),
                "source_format": "test",
                "record_ref": f"test:{len(self.rows) + 1}",
                "event_uid": str(len(self.rows)),
                "user_name": user,
                "user_exists": status != "no_user",
                "src_endpoint_ip": ip,
                "src_asn": asn,
                "user_agent": ua,
                "service_name": app,
                "client_app": client,
                "is_legacy_protocol": legacy,
                "status_id": status_id,
                "status_code": code,
                "status_detail": detail,
                "password_correct": pw_ok,
                "is_mfa": mfa if mfa is not None else (status == "ok" and not legacy),
                **columns,
            }
        )

    def hunt(self, config: dict | None = None) -> list[Finding]:
        with Store() as store:
            if self.rows:
                store.append(batch_from_rows(sorted(self.rows, key=lambda r: r["time"])))
            return run_all(store, config)


def by_detection(findings: list[Finding], detection: str) -> list[Finding]:
    return [f for f in findings if f.detection == detection]


def attack_findings(findings: list[Finding]) -> list[Finding]:
    """Findings of medium or higher severity that name an attack (not benign noise)."""
    return [f for f in findings if f.severity in ("critical", "high", "medium")]
