"""Shapes from real code and documentation (a scan of /usr/share, Python's site-packages and Django's
history) that are not secrets, next to the real passwords the same rules must keep finding.

Each false-positive line below is written in the shape seen, with our own names and values."""

from __future__ import annotations

import pytest

from nightowl.secrets.engine import Engine
from nightowl.secrets.filters import Candidate, FilterConfig, flag_prose
from nightowl.secrets.rules import load_rules

RULES = load_rules()


def secrets_in(engine: Engine, text: str, path: str) -> set[str]:
    return {h.secret.decode() for h in engine.scan(text.encode() + b"\n", path=path)}


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("lib/Module/Versions.pm", "'Acme::Event::Pass'    => '2.104417',"),  # a version table
        ("etc/nsswitch.conf", "passwd:         compat"),
        ("docs/fs.md", "readFile('/etc/passwd', 'latin1', callback);"),
        ("docs/crypto.md", "scrypt('password', 'pepper', 64, (err, key) => {"),
        ("autoload/plugin.vim", "let pwd = a:opts.istemp ? a:opts.tmpdir : ''"),
        ("lib/Auth/Client.pm", "pass => \\&ask_for_password,"),
        ("share/mime/globs", "application/vnd.example.pkpass:*.pkpass"),
        ("conf/settings.xml", "<passphrase>optional; leave empty if not used.</passphrase>"),
        ("docs/auth.txt", "def login(self, request, username=None, password=None):"),
        ("docs/auth.txt", "user = login(request, username=username, password=password)"),
        ("views.py", 'password = request.POST["password"]'),
        ("forms.py", 'self.check_passwords("old_password1", "old_password2")'),
        ("forms.py", "if password1 and password2 and password1 != password2:"),
        ("docs/release.txt", "$ git push upstream -u stable/7.1.x:stable/7.1.x"),
        ("docs/perldoc.pod", "perldoc -u Some::Package"),
        ("docs/changes.txt", "Templates must pass :meth:`Site.has_permission()` to the view."),
        ("docs/settings.txt", 'ADMIN_PASSWORD = "pbkdf2_sha256$600000$Zq3LrA9kP2wX$8mNf2vLq0cR7sT1uY4bH6jK9pW3eD5gA0xZ2iO7nQ4E="'),
    ],
)  # fmt: skip
def test_code_and_prose_shapes_are_not_secrets(engine, path, text):
    assert secrets_in(engine, text, path) == set()


@pytest.mark.parametrize(
    ("path", "text", "secret"),
    [
        ("docs/databases.txt", '"PASSWORD": "kestrel-Harbor9",', "kestrel-Harbor9"),
        ("conf/settings.xml", "<password>w1ldPlum</password>", "w1ldPlum"),
        ("settings.py", 'DATABASE_PASSWORD = "m0ssy-Vale"', "m0ssy-Vale"),
        ("deploy.sh", "curl -u deploy:Qv7rT2pLx9 https://ci.internal/api", "Qv7rT2pLx9"),
        ("backup.sh", "mysqldump --password Gr4nite7 app > app.sql", "Gr4nite7"),
        ("settings.py", 'password = "password1"', "password1"),
    ],
)
def test_real_passwords_in_the_same_shapes_are_found(engine, path, text, secret):
    assert secret in secrets_in(engine, text, path)


def test_a_widget_class_name_is_not_a_password_in_code_but_a_quoted_word_in_config_is():
    """``password => "TextInput"`` in a Perl or Python form is a widget class; in a config file a
    CamelCase value under a password key is what someone typed."""
    eng = Engine(RULES, use_hyperscan=False)
    line = 'password => "TextInput",'
    assert secrets_in(eng, line, "lib/HTML/Form.pm") == set()
    assert "TextInput" in secrets_in(eng, 'password: "TextInput"', "deploy/app.yml")


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        (b"the --password flag is deprecated", True),
        (b"# `ps` on old systems, but --password suffers from the same problem", True),
        (b"use the --username and --password options instead", True),
        (b"mysqldump --password s3cret app", False),
        (b"tool --password hunter7 --user ops", False),
    ],
)
def test_flag_prose(line, dropped):
    value = line.split(b"--password ", 1)[1].split()[0]
    c = Candidate(secret=value, line=line, path="notes.txt")
    assert (flag_prose(c, FilterConfig()) is not None) is dropped


def test_translation_catalogs_are_not_read_as_prose(engine):
    """A gettext catalog translates UI strings in every language ("Password: ..."); the phrasing rules
    read mail and docs, not catalogs (they ran on every msgstr of a 100-language project)."""
    text = 'msgid "The password is %(pw)s"\nmsgstr "Das Passwort lautet Rotkehlchen42"\n'
    human = {h.rule.family for h in engine.scan(text.encode(), path="locale/de/LC_MESSAGES/django.po")}
    assert "human" not in human
    assert "human" in {h.rule.family for h in engine.scan(text.encode(), path="notes/handover.txt")}


def test_one_finding_when_a_phrasing_rule_reads_past_a_connection_string_value(engine):
    """``Password=X;Encrypt=True``: the connection-string rule owns ``X``; the label rule, reading on to
    ``X;Encrypt=True``, must not report the same password a second time."""
    text = '<add connectionString="Server=db01;User Id=app;Password=Vq7rLm2xKd_9p;Encrypt=True" />\n'
    hits = [(h.rule.id, h.secret.decode()) for h in engine.scan(text.encode(), path="notes/web-config.txt")]
    assert [s for _, s in hits] == ["Vq7rLm2xKd_9p"], hits
