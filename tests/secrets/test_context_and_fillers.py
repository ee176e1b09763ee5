"""Keyword-in-context windows, structure-aware rules, filler filters, the git blob stream, whispers."""

from __future__ import annotations

import importlib.util
import random
import string
import subprocess
from pathlib import Path

import pytest
from tests.conftest import dataset

from nightowl.secrets.engine import Engine
from nightowl.secrets.filters import Candidate, FilterConfig, password_list, run_filters, secret_key
from nightowl.secrets.git import read_history, stream_blobs
from nightowl.secrets.rules import load_rules
from nightowl.secrets.scan import ScanOptions, scan_paths

RULES = load_rules()
CFG = FilterConfig()


def found(engine: Engine, text: str, path: str = "config.yml") -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for h in engine.scan(text.encode(), path=path):
        out.setdefault(h.rule.id, set()).add(h.secret.decode())
    return out


@pytest.mark.parametrize(
    "value",
    [
        "abcdefghijklmnopqrstuvwxyz",
        "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "shippo_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
        "GR134894112312312312312312312",
        "AKIA1234567890EXAMPL",
    ],
)
def test_fillers_are_placeholders(value):
    assert run_filters((), Candidate(value.encode(), b"", "x"), CFG)


@pytest.mark.parametrize(
    "value",
    [
        "rQ0iX6ifmlzAAAAAAAAAA3QovLvdSco7Wds4da9rEAFZcGnAtAw128VhyJOhZHMs",  # Dropbox: a fixed AAAA run
        "cfut_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzd7149d439",
    ],
)
def test_formats_with_fixed_runs_are_not_fillers(value):
    assert run_filters((), Candidate(value.encode(), b"", "x"), CFG) is None


def test_generated_tokens_are_not_fillers():
    """2,000 tokens drawn like a provider draws them (uniform base62 / hex): none is a filler."""
    rng = random.Random(20241126)
    for alphabet in (string.ascii_letters + string.digits, "0123456789abcdef"):
        for _ in range(1000):
            token = "".join(rng.choice(alphabet) for _ in range(rng.randint(24, 64)))
            assert run_filters((), Candidate(token.encode(), b"", "x"), CFG) is None, token


def test_password_list_needs_a_password_key():
    yes = Candidate(b"Zr8kPq2Lw5", b'  - "Zr8kPq2Lw5"', "a.yml", before=b'old_passwords:\n  - "Mn4vXc7Tb1"\n')
    no = Candidate(b"db1.example", b'  - "db1.example"', "a.yml", before=b"hosts:\n")
    assert password_list(yes, CFG) is None
    assert password_list(no, CFG)


@pytest.mark.parametrize(
    "key", [b"credentialId", b"dev.credentials.url", b"LLM_SECRET_NAME", b"publicToken", b"csrf-token"]
)
def test_secret_key_metadata_names(key):
    assert secret_key(Candidate(b"x" * 20, b"", "a", key=key), CFG)


def test_keyword_a_few_lines_away(engine):
    text = "# confluence personal access token for CI\nTOKEN=ODM4MjQ5MjE2NjQ4OrEL7LVWO/web5NCfsvI/ilV5c2O\n"
    assert "ODM4MjQ5MjE2NjQ4OrEL7LVWO/web5NCfsvI/ilV5c2O" in found(engine, text).get(
        "atlassian.datacenter-pat-context", set()
    )
    far = "# confluence\n\n\n\n\n\nTOKEN=ODM4MjQ5MjE2NjQ4OrEL7LVWO/web5NCfsvI/ilV5c2O\n"
    assert "atlassian.datacenter-pat-context" not in found(engine, far)


def test_consecutive_key_value_pairs_each_found(engine):
    """Overlapping context windows: the last pair lies past the window of the one before."""
    text = "".join(f"  - key: password\n    value: Zr8kPq2Lw{i}\n" for i in range(5))
    assert found(engine, text)["generic.key-value-password"] == {f"Zr8kPq2Lw{i}" for i in range(5)}


def test_key_value_empty_value_does_not_take_the_next_line(engine):
    text = "- key: password\n  value: \nnoncompliant:\n- key: account\n  value: 1234\n"
    assert "generic.key-value-password" not in found(engine, text)


def test_stream_blobs_yields_only_wanted_and_skips_missing(tmp_path):
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("alpha\n")
    (repo / "b.txt").write_text("beta\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "c"], check=True, env=env)
    hist = read_history(repo)
    by_path = {where[0][0]: oid for oid, where in hist.blobs.items()}
    wanted = {by_path["a.txt"], "0" * 39 + "1"}
    got = dict(stream_blobs(repo, wanted))
    assert got == {by_path["a.txt"]: b"alpha\n"}


def _eval_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "eval_secrets.py"
    spec = importlib.util.spec_from_file_location("eval_secrets", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_hardcoded_value_in_the_whispers_fixtures_is_found():
    fixtures = dataset("secrets/whispers/tests/fixtures")
    ev = _eval_module()
    res = scan_paths([str(fixtures)], ScanOptions(jobs=1))
    hits = {
        (loc["path"].split("fixtures/", 1)[1], loc["line"])
        for s in res.secrets.values()
        for loc in s.locations.values()
    }
    missed = []
    for path, line in ev.hardcoded_lines(fixtures):
        text = (fixtures / path).read_bytes().splitlines()[line - 1].decode("utf-8", "replace").strip()
        if (path.rsplit("/", 1)[-1], text) in ev.WHISPERS_NOT_VALUES:
            continue
        if (path, line) not in hits:
            missed.append((path, line))
    assert not missed
    assert len(ev.WHISPERS_NOT_VALUES) <= 17  # every exclusion is listed with its reason in the eval


@pytest.mark.parametrize("path", ["app/settings.py", "notes/handover.txt", "deploy/.htpasswd", "mail.eml"])
def test_the_database_without_path_restricted_rules_gives_the_same_answers(path):
    """Source files are scanned with a smaller Hyperscan database; the answers must not change."""
    hs = Engine(RULES, use_hyperscan=True)
    if hs.backend != "hyperscan":
        pytest.skip("hyperscan cannot load here")
    py = Engine(RULES, use_hyperscan=False)
    text = (
        b"# the password is Tr0ub4dor&3x for the test account\n"
        b'DB_PASSWORD = "Zr8kPq2Lw5"\n'
        b"alice:$apr1$ynRaB3ba$QQi779eEgPy6gjlQzhPraX\n"
        b"GITHUB_TOKEN=ghp_" + b"x7Kq2Lm9Pz4Rt8Vw3Yb6Nc1Hd5Jf0Gs2Ae4T"[:36] + b"\n"
    )
    key = [(h.rule.id, h.secret, h.line) for h in hs.scan(text, path=path)]
    assert key == [(h.rule.id, h.secret, h.line) for h in py.scan(text, path=path)]
    assert key  # something is found in every kind of file


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("django/contrib/auth/admin.py", '"fields": ("username", "password1", "password2"),'),
        ("forms.py", 'attrs={"autocomplete": "current-password", "autofocus": True}'),
        ("views.py", '@sensitive_variables("user", "password", "credit_card")'),
        (
            "docs/releases.txt",
            'User.objects.filter(password__startswith="md5$").exclude(password__startswith="md5$$")',
        ),
        ("views.py", 'INTERNAL_RESET_SESSION_TOKEN = "_password_reset_token"'),
        ("css/base.css", "input[type=password]:focus, input[type=email]:focus,"),
        (
            "reload.py",
            "# https://github.com/pallets/werkzeug/blob/7477be2853df70a022d9613e765581b9411c3c39/x.py",
        ),
        ("docs/databases.txt", '"PASSWORD": "a_password",'),
    ],
)
def test_framework_code_is_not_a_secret(engine, path, text):
    """Shapes seen scanning Django's history: field lists, query lookups, CSS, commit URLs."""
    assert found(engine, text + "\n", path=path) == {}


def test_real_passwords_next_to_those_shapes_are_still_found(engine):
    text = 'DATABASES = {"default": {"USER": "app", "PASSWORD": "Zr8kPq2Lw5"}}\npassword = "password1"\n'
    got = found(engine, text, path="settings.py")
    assert {"Zr8kPq2Lw5", "password1"} <= set().union(*got.values())


def test_parallel_history_scan_reports_a_missing_blob_and_finds_the_rest(tmp_path, monkeypatch):
    """Workers read their own batches; a blob gone from the object store is a problem, not a crash."""
    from nightowl.secrets import scan as scan_mod

    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    key = "AKIA" + "Q3RZ7XKW2MPL5VNT"  # fake, documented AWS access key id shape
    (repo / "a.py").write_text(f'AWS_KEY = "{key}"\n')
    (repo / "b.txt").write_text("nothing here\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "c"], check=True, env=env)
    gone = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD:b.txt"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (repo / ".git" / "objects" / gone[:2] / gone[2:]).unlink()
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan_mod, "BATCH_ITEMS", 1)
    res = scan_paths([str(repo)], ScanOptions(jobs=2))
    assert [s.rule.id for s in res.secrets.values()] == ["aws.access-key-id"]
    assert any("b.txt" in p.path and gone[:12] in p.reason for p in res.problems)


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (b"jdbc:hive2://db.corp.local:10000/default;user=etl;password=Kq8$$zT1xw", True),  # "$" inside a word
        (b"jdbc:hive2://db.corp.local:10000/default;user=etl;password=Kq8$zT1xw", True),
        (b"jdbc:hive2://db.corp.local:10000/default;user=etl;password=$$DB_PASS", False),  # make escape
        (b"jdbc:hive2://db.corp.local:10000/default;user=etl;password=pre_$DB_PASS", False),  # a reference
    ],
)
def test_dollar_inside_a_password_is_not_a_template(engine: Engine, line: bytes, found: bool) -> None:
    hits = [h for h in engine.scan(line, path="app.properties") if h.rule.id == "conn.jdbc-password"]
    assert bool(hits) is found


@pytest.mark.parametrize(
    ("plain", "found"),
    [
        (b"ci-bot:Vq8rT2zLx9wN4mK7", True),
        (b"user:pass", False),  # the dummy pull-secret documentation shows
        (b"admin:password", False),
        (b"deploy:", False),
    ],
)
def test_docker_auth_with_a_documentation_password_is_dropped(
    engine: Engine, plain: bytes, found: bool
) -> None:
    import base64

    line = b'{"auths": {"registry.corp.local": {"auth": "' + base64.b64encode(plain) + b'"}}}'
    hits = [h for h in engine.scan(line, path="config.json") if h.rule.id == "conn.docker-config-auth"]
    assert bool(hits) is found
