"""The HTML report without a browser: escaping, CSP, offline, secrets redacted, findings-only and store modes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from nightowl.cli.report import make_report, merge_documents, report_command
from nightowl.findings import Finding, document, stable_id
from nightowl.reports import charts
from nightowl.reports.html import build_report
from nightowl.reports.report_data import Band, Ranked, bucket_for, from_findings, from_store, sign_in_series
from nightowl.sources.base import InputError
from tests.reports.factory import XSS, chain, hostile, noise, spray_store

SCRIPT_TAG = re.compile(r"<script\b", re.I)


def _write(path: Path, findings: list[Finding], **extra) -> Path:
    path.write_bytes(orjson.dumps(document(findings, [], **extra)))
    return path


def _cli(args: list[str]):
    app = typer.Typer()
    app.command()(report_command)
    return CliRunner().invoke(app, args)


def test_attacker_text_renders_inert():
    html = build_report([hostile(), *chain()])
    # exactly the two script elements the report itself has: the JSON data block and its code
    assert len(SCRIPT_TAG.findall(html)) == 2
    assert "<img src=x" not in html and "<svg onload" not in html and "<b>Evil ASN</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text, in the incident and summary
    data = html.split('id="nightowl-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data  # JSON for the table has every angle bracket escaped
    titles = {f["title"] for f in orjson.loads(data)["findings"]}
    assert f"Brute force against {XSS}" in titles  # intact for the table, which shows it as text


def test_chart_labels_are_escaped():
    svg = charts.ranked_bars([Ranked(XSS, 3, 9), Ranked('a"b', 1, 1)], 2, "networks")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and 'a"b' not in svg


def test_content_security_policy_allows_only_the_reports_own_code():
    html = build_report(chain())
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert "default-src 'none'" in csp
    script = html.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    for text in (script, style):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert " style=" not in html  # inline style attributes would be refused by the policy


def test_report_loads_nothing_from_the_network():
    html = build_report(chain() + noise())
    urls = re.findall(r"""(?:src|href|action)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
    assert urls and all(u.startswith("#") for u in urls), [u for u in urls if not u.startswith("#")]
    assert "@import" not in html and "url(" not in html
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_secrets_appear_only_redacted():
    plaintext = "AKIAIOSFODNN7EXAMPLE"
    findings = chain()
    for f in findings:
        if f.category == "secret":
            f.extra["secret"] = plaintext  # what --show-secrets output carries
            f.evidence["plaintext"] = plaintext
    html = build_report(findings)
    assert plaintext not in html
    assert "AKIA…XY" in html


def test_whole_chain_is_one_incident_in_the_report(tmp_path):
    path = _write(tmp_path / "hunt.json", chain() + noise())
    html, n_findings, _ = make_report([str(path)], None, "t")
    first = html.split('<article class="incident', 2)[1]
    steps = re.findall(r'<li class="step stage-([a-z_]+)">', first)
    assert steps == [
        "spray", "compromise", "persistence", "persistence", "privilege",
        "consent", "privilege", "collection", "exposed_secrets", "exposed_secrets",
    ]  # fmt: skip
    assert "AKIA…XY" in first and "ghp_…Zq" in first  # the secrets to rotate, redacted
    assert "Rotate every secret" in first
    assert n_findings == len(chain() + noise())


def test_report_from_findings_json_only(tmp_path):
    findings = chain() + noise()
    path = _write(tmp_path / "hunt.json", findings)
    out = tmp_path / "out" / "report.html"
    result = _cli([str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Attack campaigns over time" in html  # the findings-only replacement of the hourly chart
    assert 'class="chart spans"' in html and 'class="chart targeting"' in html
    assert html.count('class="bar"') >= 2
    doc_ids = {f.id for f in findings}
    data = orjson.loads(html.split('id="nightowl-data">', 1)[1].split("</script>", 1)[0])
    assert {f["id"] for f in data["findings"]} == doc_ids


def test_several_documents_merge(tmp_path):
    ch, nz = chain(), noise()
    a = _write(tmp_path / "hunt.json", ch[:8] + nz[:2])
    b = _write(tmp_path / "secrets.json", ch[8:] + nz[3:4])
    c = tmp_path / "again.json"
    dup = Finding(**{**ch[0].__dict__, "severity": "medium"})
    _write(c, [dup])
    findings, _, _ = merge_documents([(str(p), orjson.loads(p.read_bytes())) for p in (c, a, b)])
    assert len(findings) == 13  # 10 + 3, the duplicate once
    assert next(f for f in findings if f.id == ch[0].id).severity == "critical"  # the more severe copy
    html, _, _ = make_report([str(a), str(b)], None, "t")
    first = html.split('<article class="incident', 2)[1]
    assert "AKIA…XY" in first  # the secrets from the second document joined the first's incident


def test_report_from_store_has_hourly_failures_and_networks(tmp_path):
    findings = chain() + noise()
    path = _write(tmp_path / "hunt.json", findings)
    spray_store(tmp_path / "s.duckdb").close()
    html, _, _ = make_report([str(path)], tmp_path / "s.duckdb", "t")
    assert "Failed sign-ins over time, campaigns marked" in html
    ts = html.split('class="chart timeseries"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r'<rect class="bar attack" [^>]*height="([\d.]+)"', ts)
    assert len(bars) == 50 and all(float(h) > 0 for h in bars)  # 300 failures over 50 hours, all the attack's
    assert 'class="bar other"' not in ts
    assert ts.count('<g class="band">') >= 2  # the spray and the brute forces marked
    assert "Residential ISP A" in html and "Corp Office" not in html  # the attack's sources only


def test_sign_in_series_fills_gaps_and_picks_buckets(tmp_path):
    with spray_store(tmp_path / "s.duckdb") as st:
        series = sign_in_series(st, chain()[0].source_ips[:20])
        assert series is not None and series.bucket_seconds == 3600
        assert len(series.starts) == 72 and sum(series.failures) == 300 and sum(series.successes) == 72
        assert sum(series.attack_failures) == 160  # k % 40 < 20 for 160 of the 300 attempts
        data = from_store(st, chain())
        assert [r.label for r in data.by_country] == ["US", "DE", "BR"]
        assert sum(r.sources for r in data.by_asn) == 40
    from datetime import timedelta

    assert bucket_for(timedelta(days=3)) == 3600
    assert bucket_for(timedelta(days=30)) == 6 * 3600
    assert bucket_for(timedelta(days=200)) == 86400


def test_findings_only_data_uses_evidence_histograms():
    data = from_findings(chain())
    assert [(r.label, r.attempts) for r in data.by_asn] == [("ISP one", 20), ("ISP two", 20)]
    assert data.targeting[0].targeted == 60 and data.targeting[0].compromised == 1
    assert data.bands and isinstance(data.bands[0], Band)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", "not JSON"), (b'{"findings": 3}', "not a findings document"), (b"[]", "not a findings")],
)
def test_bad_inputs_fail_with_the_file_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        make_report([str(path)], None, "t")


def test_bad_finding_names_file_and_position(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(orjson.dumps({"findings": [chain()[0].to_dict(), {"id": "x", "category": "y"}]}))
    with pytest.raises(InputError, match=r"bad.json: finding 1: .*severity"):
        make_report([str(path)], None, "t")


def test_missing_inputs(tmp_path):
    with pytest.raises(InputError, match="nothing to report"):
        report_command(None, None, tmp_path / "r.html", "t")
    with pytest.raises(InputError, match="no such store"):
        make_report([], tmp_path / "nope.duckdb", "t")
    with pytest.raises(InputError, match=r"missing\.json"):
        make_report([str(tmp_path / "missing.json")], None, "t")
    assert not (tmp_path / "nope.duckdb").exists()


def test_empty_findings_still_make_a_report():
    html = build_report([])
    assert "No attack incident was found" in html and "No password attack campaigns" in html


def test_many_incidents_are_listed_compactly():
    fs = [
        Finding(
            id=stable_id("bf", i),
            detection="bf",
            category="brute_force",
            severity="medium",
            title=f"bf {i}",
            users=[f"u{i}@x"],
            source_ips=[f"10.0.{i // 250}.{i % 250 + 1}"],
            first_seen="2026-01-01T00:00:00Z",
        )
        for i in range(600)
    ]
    html = build_report(fs)
    assert html.count('<article class="incident') == 20
    assert "100 more low-ranked incidents" in html


# -- hostile findings documents: whatever the JSON holds, the page keeps its two scripts ----------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nightowl.incidents import finding_from_dict  # noqa: E402

nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["</script><script>alert(1)</script>", "<!--", "\u202e\u2066evil", "]]>", "\x00\x1b[31m", "&amp;"]
    ),
)
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), nasty_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=12,
)
finding_dict = st.fixed_dictionaries(
    {
        "id": nasty_text,
        "category": st.sampled_from(
            ["password_spray", "account_compromise", "mailbox_access", "secret", "x<y>"]
        ),
        "severity": st.sampled_from(["critical", "high", "medium", "low", "info"]),
    },
    optional={
        "title": nasty_text,
        "summary": json_value,
        "users": st.one_of(st.lists(nasty_text, max_size=4), json_value),
        "compromised_users": st.lists(nasty_text, max_size=2),
        "source_ips": st.lists(st.sampled_from(["10.0.0.1", "::1", "bad", "</script>"]), max_size=3),
        "first_seen": st.one_of(nasty_text, st.just("2026-01-01T00:00:00Z"), st.integers()),
        "evidence": json_value,
        "counts": json_value,
        "applications": json_value,
        "mailboxes": json_value,
        "locations": json_value,
        "redacted": nasty_text,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(finding_dict, max_size=8))
def test_any_findings_document_renders_safely(items):
    findings = []
    for item in items:
        try:
            findings.append(finding_from_dict(item))
        except ValueError:
            continue
    html = build_report(findings)
    assert len(SCRIPT_TAG.findall(html)) == 2
    data = html.split('id="nightowl-data">', 1)[1].split("</script>", 1)[0]
    assert len(orjson.loads(data)["findings"]) == len(findings)
    # issue 14: no control character (ESC, NUL) anywhere in the page, data block included
    assert not any(ch in html for ch in ("\x1b", "\x00", "\x07", "\x9b"))


def test_non_finite_numbers_next_to_a_huge_integer_still_give_valid_json():
    """Hypothesis found it: an integer beyond 64 bits sends the data block through the standard
    library, which wrote -Infinity (not JSON) and broke the page's data."""
    items = [
        {"id": "", "category": "password_spray", "severity": "critical", "applications": [float("-inf")]},
        {
            "id": "",
            "category": "password_spray",
            "severity": "critical",
            "locations": [19_033_786_876_226_961_408],
        },
    ]
    html = build_report([finding_from_dict(i) for i in items])
    data = html.split('id="nightowl-data">', 1)[1].split("</script>", 1)[0]
    assert len(json.loads(data)["findings"]) == 2
    assert "Infinity" not in data
