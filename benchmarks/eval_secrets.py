"""Measure the secret rules against other projects' example sets (../shared/datasets/secrets).

These sets are measuring sticks, not rule sources. For every example the whole engine runs (all
rules, all filters). Per provider family we print:

* recall: share of positive examples on which a rule of that family reports a secret
  (for the ``generic`` family, any rule counts);
* negatives flagged: share of negative examples on which a rule of the same family reports a
  secret, and on which *any* rule reports anything.

The TruffleHog caveat: a TruffleHog "negative" means *that detector's* pattern test expects no
result, often because a second value its verifier needs is absent (a Salesforce refresh token
without its consumer key, a Stripe payment intent next to a valid ``sk_live_`` key, a regular
OpenAI key in the admin-key detector's test) or because another detector owns the token. Many of
those texts hold a well-formed credential, which a scanner that reports every credential it sees
must report. So "flagged (any rule)" over-counts heavily on TruffleHog, and even "same family"
counts some correct reports as false positives. Nosey Parker's negatives are per rule too, but its
texts rarely hold another rule's valid token, and gitleaks' are closest to true negatives (though
they include real-looking Google API keys that gitleaks rejects by its own allow list).

Fillers (``abcdef``, ``123456``, ``a1b2c3...``, ``aaaa...``) are dropped as placeholders for
machine tokens; several datasets use such fillers in *positive* examples, which costs recall here
and is a deliberate choice (in real repositories those strings are documentation).

"Providers we cover" = the families that have at least one rule in ``rules/*.toml`` (a dataset
rule or detector is mapped to a family by its name, see ``family_of``); every example of such a
family counts, whether or not we have a rule for that particular token type of the provider, so a
family is never dropped from coverage to raise the number. The rest are listed as not covered.
Two kinds of examples are set aside, and counted in the output:

* negatives whose exact text the same set also labels positive (for another of its rules): Nosey
  Parker's and TruffleHog's negatives are negatives *for one rule* (``hvs.`` tokens are a negative
  of the legacy Vault rule and a positive of the new one), so they are not evidence either way;
* the public identifiers in ``NOT_SECRETS`` (account ids, OAuth client ids, bucket host names,
  Mapbox ``pk.`` public tokens, usernames): by the providers' own documentation they are not
  secrets, and reporting them would be a false positive in real use.

Two further set-asides are *reported next to* the raw figures, never folded into them:

* fillers: a positive on which a rule of the family matches, but the value is one our placeholder
  filters drop by design (``aaaa...``, ``1111...``, ``a1b2c3d4...``, ``abcdef123456...``, ``EXAMPLE``,
  ``myPassword``): "recall, fillers set aside" is the share found among the other positives;
* negatives whose reported value the same set labels a secret in one of its positives (TruffleHog:
  the value is in a positive's ``want``; Nosey Parker and gitleaks, which carry no ``want``: the
  value is in a positive's text). TruffleHog's negatives are per detector: a well-formed Jira token
  without the e-mail its verifier needs, a regular OpenAI key in the admin-key test. "flagged,
  contradicted set aside" is the share of the remaining negatives flagged.

Then the whispers fixtures (every line holding a ``hardcoded`` value) and the gitleaks small
repository (one deduplicated finding with both introducing commits).

    python benchmarks/eval_secrets.py [--shared ../shared] [--misses]
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from nightowl.secrets.engine import Engine
from nightowl.secrets.filters import Candidate, FilterConfig, _sequence, placeholder, placeholder_password
from nightowl.secrets.rules import SECRET_GROUPS, Rule, load_rules
from nightowl.secrets.scan import ScanOptions, scan_paths

# dataset rule / detector name -> our family, where the name alone does not say it
EXPLICIT = {
    "google": "gcp", "gcs": "gcp", "gcpapplicationdefaultcredentials": "gcp", "googleoauth2": "gcp", "googlegemini": "gcp",
    "jira": "atlassian", "jiratoken": "atlassian", "bitbucket": "atlassian", "confluence": "atlassian",
    "atlassiandatacenter": "atlassian", "artifactory": "jfrog", "artifactoryreferencetoken": "jfrog",
    "rubygems": "packages", "nuget": "packages", "cratesio": "packages", "clojars": "packages",
    "dockerhub": "docker", "vault": "hashicorp", "terraform": "hashicorp",
    "pem": "private-key", "privatekey": "private-key", "wireguard": "private-key", "age": "private-key",
    "jdbc": "connection-string", "ftp": "connection-string", "uri": "connection-string", "postgres": "connection-string",
    "mongodb": "connection-string", "odbc": "connection-string", "netrc": "connection-string", "psexec": "connection-string",
    "redis": "connection-string", "sqlserver": "connection-string", "ldap": "connection-string",
    "sidekiq": "connection-string", "curl": "connection-string", "curl-auth-header": "http",
    "pwhash": "password-hash", "jenkins": "jenkins", "generic": "generic", "django": "generic", "reactapp": "generic",
    "phpmailer": "generic", "http": "http", "mailgun": "mailgun", "brevo": "brevo", "sendinblue": "brevo",
    "meraki": "cisco", "ciscomeraki": "cisco", "fly": "flyio", "flyio": "flyio", "intra42": "intra42",
    "facebookoauth": "facebook", "tailscale": None,
}  # fmt: skip
# public identifiers, not secrets (see the module docstring)
NOT_SECRETS = {
    "np.age.1", "np.arn.1", "discord-client-id", "sumologic-access-id",
    "np.aws.3",  # AWS account ids
    "np.google.1",  # Google OAuth client ids (*.apps.googleusercontent.com), shipped in web pages
    "np.gcs.1", "np.gcs.2",  # Cloud Storage bucket host names / URLs
    "np.mapbox.1",  # Mapbox pk. public tokens (documented as safe to expose)
    "np.reactapp.1",  # REACT_APP_*_USER / _USERNAME values: user names
    "np.shopify.1",  # *.myshopify.com shop domains
}  # fmt: skip


def family_of(name: str, families: set[str]) -> str | None:
    if name in NOT_SECRETS:
        return None
    n = name.lower()
    if n.startswith("np."):
        n = n[3:].rsplit(".", 1)[0]
    n = n.split("/")[0]
    head = re.split(r"[-_.]", n)[0]
    flat = re.sub(r"[^a-z0-9]", "", n)
    for key in (n, head, flat):
        if key in EXPLICIT:
            return EXPLICIT[key]
    for fam in sorted(families, key=len, reverse=True):
        f = re.sub(r"[^a-z0-9]", "", fam)
        if fam in ("generic", "human", "http") or len(f) < 3:
            continue
        if flat.startswith(f) or head == f:
            return fam
    return None


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def examples(shared: Path):
    """(set, rule or detector, label, text, wanted values or None)."""
    base = shared / "datasets" / "secrets"
    for row in load(base / "trufflehog_detector_pattern_cases.jsonl"):
        yield "TruffleHog", row["detector"], row["label"], row["input"], row.get("want") or []
    for row in load(base / "noseyparker_rule_examples.jsonl"):
        yield "Nosey Parker", row["rule_id"], row["label"], row["text"], None
    for row in load(base / "gitleaks_rule_examples.jsonl"):
        yield "gitleaks", row["rule_id"], row["label"], row["text"], None


_CFG = FilterConfig()


def filler_only(rules: list[Rule], text: bytes) -> bool:
    """A rule of the family matches, and the value is a filler our placeholder filters drop by design."""
    for rule in rules:
        for m in rule.compiled.finditer(text):
            for name in SECRET_GROUPS:
                if name in m.re.groupindex and m.group(name):
                    secret = m.group(name)
                    c = Candidate(secret=secret, line=text, path="example.txt")
                    reason = (
                        placeholder(c, _CFG)
                        or placeholder_password(c, _CFG)
                        or _sequence(secret.lower())
                        or ""
                    )
                    if reason.startswith(("placeholder", "repeated")):
                        return True
    return False


def evaluate_sets(shared: Path, engine: Engine, show_misses: bool) -> dict:
    families = {r.family for r in engine.rules}
    by_family: dict[str, list[Rule]] = defaultdict(list)
    for r in engine.rules:
        by_family[r.family].append(r)
    # dataset -> family -> [pos, pos_hit, neg, neg_flagged_same_family, neg_flagged_any_rule,
    #                       pos_fillers (missed), neg_contradicted, neg_contradicted_flagged]
    stats: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * 8))
    uncovered: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses = []
    rows = list(examples(shared))
    positives = {(ds, text.strip()) for ds, _n, label, text, _w in rows if label == "positive"}
    labelled: dict[str, list[str]] = defaultdict(list)  # per set: the values / texts it calls secrets
    for ds, _n, label, text, want in rows:
        if label == "positive":
            labelled[ds].extend(want if want is not None else [text])
    both: dict[str, int] = defaultdict(int)
    for ds, name, label, text, _want in rows:
        if label == "negative" and (ds, text.strip()) in positives:
            both[ds] += 1  # labelled positive elsewhere in the same set: no evidence either way
            continue
        data = text.encode("utf-8", "surrogateescape")
        hits = engine.scan(data, path="example.txt")
        fam = family_of(name, families)
        if fam is None:
            u = uncovered[ds][name]
            u[0] += 1
            u[1] += bool(hits) if label == "negative" else 0
            continue
        s = stats[ds][fam]
        if label == "positive":
            s[0] += 1
            ok = bool(hits) if fam == "generic" else any(h.rule.family == fam for h in hits)
            s[1] += ok
            if not ok:
                filler = filler_only(by_family[fam], data)
                s[5] += filler
                why = "missed (filler)" if filler else "missed"
                misses.append((ds, name, why, text[:160], [h.rule.id for h in hits]))
        else:
            mine = [h for h in hits if fam == "generic" or h.rule.family == fam]
            same = bool(mine)
            contradicted = same and all(
                any(h.secret.decode("utf-8", "replace") in v for v in labelled[ds]) for h in mine
            )
            s[2] += 1
            s[3] += same
            s[4] += bool(hits)
            s[6] += contradicted
            if same:
                why = "flagged (the set labels this value a secret elsewhere)" if contradicted else "flagged"
                misses.append((ds, name, why, text[:160], [h.rule.id for h in hits]))
    if show_misses:
        for m in misses:
            print(" | ".join(str(x).replace("\n", "\\n") for x in m), file=sys.stderr)
    return {"stats": stats, "uncovered": uncovered, "both": both}


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "-"


def _row(v: list[int], bold: bool = False) -> str:
    p, h, n, f, a, fill, contra, _ = v
    b = "**" if bold else ""
    cells = [
        str(p), f"{b}{pct(h, p)}{b}", f"{b}{pct(h, p - fill)}{b}", str(n), f"{b}{pct(f, n)}{b}",
        f"{b}{pct(f - contra, n - contra)}{b}", pct(a, n),
    ]  # fmt: skip
    return " | ".join(cells)


def print_sets(res: dict) -> None:
    for ds, fams in res["stats"].items():
        print(f"\n### {ds}\n")
        print(
            "| family | positives | recall | recall, fillers set aside | negatives | flagged (same family) "
            "| flagged, contradicted set aside | flagged (any rule) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        tot = [0] * 8
        for fam in sorted(fams):
            v = fams[fam]
            tot = [a + b for a, b in zip(tot, v, strict=True)]
            print(f"| {fam} | {_row(v)} |")
        print(f"| **covered families, total** | {_row(tot, bold=True)} |")
        p, _h, n, _f, _a, fill, contra, _ = tot
        print(
            f"\nFillers among the missed positives: {fill} of {p}. Negatives whose flagged value the set labels"
            f" a secret in a positive: {contra} of {n}."
        )
        un = res["uncovered"].get(ds, {})
        up = sum(v[0] for v in un.values())
        uf = sum(v[1] for v in un.values())
        print(f"\nNot covered: {len(un)} detectors/rules, {up} examples ({uf} negatives among them flagged).")
        print(
            f"Negatives set aside because the same set labels the same text positive: {res['both'].get(ds, 0)}."
        )


# Lines holding the word that are not a secret value, with the reason (printed with every run).
WHISPERS_NOT_VALUES = {
    (
        "hardcoded.json",
        '"02_hardcoded_passwords": [',
    ): "the word is in the key name; the values below are found",
    ("hardcoded.yml", "02_hardcoded_passwords:"): "the word is in the key name; the values below are found",
    ("hardcoded.xml", "<o2_hardcoded_passwords>"): "an XML tag name; the elements inside are found",
    ("hardcoded.xml", "</o2_hardcoded_passwords>"): "an XML closing tag",
    (
        "language.html",
        "<!-- hardcoded comment 01 -->",
    ): "an HTML comment (whispers' comment detector), not a value",
    ("language.html", "hardcoded comment 02"): "an HTML comment (whispers' comment detector), not a value",
    ("language.html", "hardcoded comment 03"): "an HTML comment (whispers' comment detector), not a value",
    ("language.html", "This is not a hardcoded comment"): "page text",
    ("passwords.json", '"username": "hardcoded",'): "a user name, in the fixture's 'compliant' section",
    ("passwords.json", '"DB_USER=hardcoded"'): "a user name, in the fixture's 'compliant' section",
    ("passwords.xml", "<username>hardcoded</username>"): "a user name, in the fixture's 'compliant' section",
    ("passwords.xml", "<environment>DB_USER=hardcoded</environment>"): "a user name, 'compliant' section",
    ("passwords.yml", "username: hardcoded"): "a user name, in the fixture's 'compliant' section",
    ("passwords.yml", "- DB_USER=hardcoded"): "a user name, in the fixture's 'compliant' section",
    (
        "paths.yml",
        "notpath3: hardcoded01",
    ): "the fixture's 'compliant' section (a value under a non-secret name)",
    ("language.py", 'format_password = "prefix_{hardcoded9}"'): (
        "a str.format template ({name} placeholder); reporting templates would flood real code"
    ),
    (
        "webhooks.yml",
        "twilio-webhook: https://chat.twilio.com/v2/Services/ISXXXXXXXXXXXXXXXXXXXXXHARDCODED/hardcodedWebhook03",
    ): ("the service SID is masked with X (a documentation placeholder)"),
}


def hardcoded_lines(fixtures: Path) -> list[tuple[str, int]]:
    b64 = {base64.b64encode(p + b"hardcoded")[len(p) * 4 // 3 + 1 : -2] for p in (b"", b"x", b"xx")}
    out = []
    for f in sorted(fixtures.rglob("*")):
        if not f.is_file():
            continue
        for i, line in enumerate(f.read_bytes().splitlines(), 1):
            if b"hardcoded" in line.lower() or any(x in line for x in b64 if len(x) >= 8):
                out.append((f.relative_to(fixtures).as_posix(), i))
    return out


def evaluate_whispers(shared: Path) -> None:
    fixtures = shared / "datasets" / "secrets" / "whispers" / "tests" / "fixtures"
    res = scan_paths([str(fixtures)], ScanOptions(jobs=1))
    found = {
        (loc["path"].split("fixtures/", 1)[1], loc["line"])
        for s in res.secrets.values()
        for loc in s.locations.values()
    }
    lines = hardcoded_lines(fixtures)

    def text(path: str, line: int) -> str:
        return (fixtures / path).read_bytes().splitlines()[line - 1].decode("utf-8", "replace").strip()

    excluded = [(p, n) for p, n in lines if (p.rsplit("/", 1)[-1], text(p, n)) in WHISPERS_NOT_VALUES]
    want = [w for w in lines if w not in excluded]
    missed = [w for w in want if w not in found]
    print("\n### whispers fixtures\n")
    print(
        f"Lines holding the word `hardcoded` (or its base64): {len(lines)}; not a secret value: {len(excluded)}; "
        f"values: {len(want)}; found: {pct(len(want) - len(missed), len(want))}."
    )
    print("Set aside (not a value):")
    for p, n in excluded:
        print(f"- `{p}:{n}` `{text(p, n)[:100]}`: {WHISPERS_NOT_VALUES[(p.rsplit('/', 1)[-1], text(p, n))]}")
    if missed:
        print("Missed lines:")
        for path, line in missed:
            print(f"- `{path}:{line}` `{text(path, line)[:100]}`")


def evaluate_repo(shared: Path) -> None:
    base = shared / "datasets" / "secrets"
    expected = json.loads((base / "gitleaks_small_repo.expected.json").read_text())["expected_findings"]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "small"
        subprocess.run(
            ["git", "clone", "-q", str(base / "gitleaks_small_repo.bundle"), str(repo)], check=True
        )
        res = scan_paths([str(repo)], ScanOptions(jobs=1))
        print("\n### gitleaks small repository\n")
        for s in res.secrets.values():
            locs = [
                (loc["path"].split("small/", 1)[1], loc["line"], loc["commit"][:12])
                for loc in s.sorted_locations()
            ]
            print(f"- {s.rule.id} {s.redacted}: {len(locs)} location(s): {locs}")
        for e in expected:
            ok = any(
                loc["path"].endswith("/" + e["file"])
                and loc["line"] == e["line"]
                and loc["commit"] == e["commit"]
                for s in res.secrets.values()
                for loc in s.locations.values()
            )
            print(f"- expected {e['file']}:{e['line']} @ {e['commit'][:12]}: {'found' if ok else 'MISSING'}")


def evaluate_mail_phrasing(corpus: Path, role: str, show_misses: bool) -> None:
    """People sharing credentials in mail, written blind to the rules (tests/fixtures/mail_phrasing).

    Every example becomes one message of an mbox, scanned end to end through the mail reader. A
    positive is found when a finding in its message captures exactly the labelled value ("partly"
    when the capture and the value overlap, e.g. a trailing character lost or gained); a negative is
    flagged when any finding lands in its message.
    """
    import mailbox
    from email.message import EmailMessage

    rows = load(corpus)
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # pos, exact, partly, neg, flagged
    with tempfile.TemporaryDirectory() as tmp:
        box = mailbox.mbox(Path(tmp) / "corpus.mbox")
        for row in rows:
            msg = EmailMessage()
            msg["From"] = "it-desk@example.org"
            msg["To"] = "someone@example.org"
            msg["Subject"] = "re: access"
            msg["Message-ID"] = f"<{row['id']}@corpus>"
            msg.set_content(row["text"])
            box.add(msg)
        box.flush()
        res = scan_paths([str(Path(tmp) / "corpus.mbox")], ScanOptions(jobs=1, show_secrets=True))
    got: dict[str, set[str]] = defaultdict(set)
    for s in res.secrets.values():
        for loc in s.locations.values():
            got[str(loc.get("message_id", "")).strip("<>").split("@")[0]].add(s.plaintext or "")
    missed = []
    for row in rows:
        st = stats[row.get("lang", "?")]
        values = got.get(row["id"], set())
        if row["label"] == "positive":
            want = row["secret"]
            exact = want in values
            partly = not exact and any(v and (v in want or want in v) for v in values)
            st[0] += 1
            st[1] += exact
            st[2] += partly
            if not exact:
                missed.append(("partly" if partly else "missed", row["id"], row["text"]))
        else:
            st[3] += 1
            st[4] += bool(values)
            if values:
                missed.append(("flagged", row["id"], row["text"]))
    print(f"\n### mail phrasing: {corpus.name} ({role}; {len(rows)} examples written blind to the rules)\n")
    print("| language | positives | found exactly | found, partly captured | negatives | flagged |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    tot = [0] * 5
    for lang in sorted(stats, key=lambda k: (-stats[k][0], k)):
        v = stats[lang]
        tot = [a + b for a, b in zip(tot, v, strict=True)]
        print(
            f"| {lang} | {v[0]} | {pct(v[1], v[0])} | {pct(v[1] + v[2], v[0])} | {v[3]} | {pct(v[4], v[3])} |"
        )
    print(
        f"| **all** | {tot[0]} | **{pct(tot[1], tot[0])}** | {pct(tot[1] + tot[2], tot[0])} | {tot[3]} "
        f"| **{pct(tot[4], tot[3])}** |"
    )
    if show_misses:
        for why, rid, text in missed:
            print(f"mail {corpus.stem} | {rid} | {why} | {text[:160]!r}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared")
    ap.add_argument("--misses", action="store_true", help="list misses and flagged negatives on stderr")
    args = ap.parse_args()
    if not (args.shared / "datasets" / "secrets").is_dir():
        sys.exit(f"{args.shared}/datasets/secrets not found")
    rules = load_rules()
    engine = Engine(rules)
    print(f"{len(rules)} rules, engine: {engine.backend}")
    print_sets(evaluate_sets(args.shared, engine, args.misses))
    evaluate_whispers(args.shared)
    evaluate_repo(args.shared)
    phrasing = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mail_phrasing"
    # corpus*.jsonl are development sets (corpus2 and corpus3 were the held-out sets of the first and
    # second rounds, scored before any rule saw them); heldout.jsonl is never read while writing rules
    for name, role in (
        ("corpus.jsonl", "development set"),
        ("corpus2.jsonl", "development set, held out in the first round"),
        ("corpus3.jsonl", "development set, held out in the second round"),
        ("heldout.jsonl", "held out: never used to write rules"),
    ):
        if (phrasing / name).is_file():
            evaluate_mail_phrasing(phrasing / name, role, args.misses)


if __name__ == "__main__":
    main()
