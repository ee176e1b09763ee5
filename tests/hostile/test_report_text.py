"""Issue 14, case 7: no control character from attacker text reaches the HTML report."""

from __future__ import annotations

from nightowl.incidents import finding_from_dict
from nightowl.reports.html import build_report
from nightowl.textsafe import visible


def test_escape_sequences_never_reach_the_page():
    finding = finding_from_dict(
        {
            "id": "spray\x1b[31m",
            "category": "password_spray",
            "severity": "high",
            "title": "title\x1b]0;pwned\x07",
            "users": ["ev\x1bil@corp.example", "nul\x00user"],
            "source_ips": ["10.0.0.1"],
        }
    )
    html = build_report([finding])
    assert not any(ch in html for ch in ("\x1b", "\x00", "\x07"))


def test_visible_keeps_types_and_line_breaks():
    assert visible("a\x1bb\tc\n") == "a\N{REPLACEMENT CHARACTER}b\tc\n"
    assert visible(7) == 7
