"""False-positive filters: small named functions a rule lists by name.

Each filter gets the candidate and the scan's :class:`FilterConfig` (no global settings) and returns
a short reason when the candidate is *not* a secret, or ``None`` to keep it. Every rule also runs
:func:`placeholder` first and, last, the filler check for machine tokens (sequences, repeated runs:
``_sequence``; rules for passwords people type skip it).
Parametrised filters are written ``name:arg`` in the rule file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class FilterConfig:
    """Per-scan switches for the filters."""

    include_tests: bool = False  # keep generic-rule hits in test files and fixtures
    include_lockfiles: bool = False
    extra_placeholders: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Candidate:
    secret: bytes
    line: bytes  # the whole line the secret sits on (context for keyword filters)
    path: str  # path inside the scanned root, used by path filters
    key: bytes | None = None  # the assigned name, for assignment rules
    quoted: bool = True
    before: bytes = b""  # up to 4 KiB of the text before the secret's line (for structure-aware filters)


Filter = Callable[[Candidate, FilterConfig, str], str | None]


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


_PLACEHOLDER_PARTS = (
    b"example",
    b"xxxxx",
    b"*****",
    b"your_",
    b"your-",
    b"yourkey",
    b"placeholder",
    b"changeme",
    b"change_me",
    b"redacted",
    b"insert_",
    b"replace_me",
    b"not-a-real",
    b"${",
    b"{{",
    b"}}",
    b"...",
)
# <your token>, </td>, a value opening or closing an angle bracket: a lone < or > inside a generated
# secret ("k>qX") is just one of its symbols
_PLACEHOLDER_RE = re.compile(
    b"|".join(re.escape(p) for p in _PLACEHOLDER_PARTS) + rb"|<[^<>\n]{0,80}>|^\s*<|>\s*$|[^x]x{4}$"
)
_STOPWORDS = {
    b"null", b"none", b"nil", b"true", b"false", b"undefined", b"empty", b"password", b"passwd", b"pass", b"pwd",
    b"secret", b"token", b"apikey", b"api_key", b"changeme", b"required", b"optional", b"string", b"str", b"bytes",
    b"default", b"value", b"text", b"hidden", b"unknown", b"admin", b"root", b"test", b"testing", b"n/a", b"tbd",
    b"todo", b"notset", b"not_set", b"unset", b"off", b"on", b"yes", b"no", b"self", b"this", b"bearer", b"basic",
    b"fake", b"dummy", b"blah",
}  # fmt: skip


def placeholder(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    low = c.secret.lower()
    m = _PLACEHOLDER_RE.search(low)
    if m:
        return f"placeholder ({m.group().decode()})"
    if any(p.encode() in low for p in cfg.extra_placeholders):
        return "placeholder (configured)"
    if len(set(low)) <= 2 and len(low) >= 4:
        return "repeated character"
    return None


def _ascending(n: int) -> re.Pattern[bytes]:
    """Any n consecutive characters of 0-9 or a-z in ascending order (0123.., abcd..)."""
    alts = [a[k : k + n] for a in ("0123456789", "abcdefghijklmnopqrstuvwxyz") for k in range(len(a) - n + 1)]
    return re.compile("|".join(alts).encode())


_ASC6, _ASC5 = _ascending(6), _ascending(5)
_REPEAT = re.compile(rb"(.)\1{7,}")
_RUNS = re.compile(rb"(.)\1{3,}")
_PERIODIC = re.compile(rb"(..|...|....)\1{3,}")


def _sequence(low: bytes) -> str | None:
    """Typed-by-hand fillers: abcdef, 123456, aaaaaaaa, a1b2c3d4e5, 123123123123, 5555AAAA7777aaaa."""
    if _ASC6.search(low):
        return "placeholder (sequence)"
    rep = max((len(m.group()) for m in _REPEAT.finditer(low)), default=0)
    if rep * 3 >= len(low) and rep:  # some formats hold a fixed run (Dropbox, Twitter bearer AAAA...)
        return "placeholder (repeated run)"
    if len(low) >= 10 and _ASC5.search(low[0::2]) and _ASC5.search(low[1::2]):
        return "placeholder (sequence)"
    if len(low) >= 16:
        if sum(len(m.group()) for m in _RUNS.finditer(low)) * 2 >= len(low):
            return "placeholder (mostly repeated runs)"
        rep = max((len(m.group()) for m in _PERIODIC.finditer(low)), default=0)
        if rep >= 12 and rep * 3 >= len(low):
            return "placeholder (repeated pattern)"
    return None


_CODE_REF = re.compile(
    rb"""^(?:
      [A-Za-z_$][\w$]*(?:(?:\.|->|::)[A-Za-z_$][\w$]*)+(?:\(.*\)|:[A-Za-z_]\w*)?  # obj.attr, a::b, pkg.mod:func
    | [A-Za-z_$][\w$.]*\(.*\)?                                       # call(...)
    | [A-Za-z_$][\w$]*\[.*\]?                                        # index[...]
    | [A-Z][A-Z0-9_]{2,}                                             # ENV_VAR_NAME
    | (?:/|\./|\.\./|~/|[A-Za-z]:\\|file:)\S*                         # a path
    | [a-z][a-z0-9+.-]*://[^:@\s]*                                   # a URL without credentials
    | [abglstvw]:[A-Za-z_][\w.#]*(?:\[.*\]?)?                          # a Vim script variable (a:arg, s:var)
    | !(?:Ref|Sub|GetAtt|ImportValue|Join)\b.*                        # CloudFormation intrinsic
    )$""",
    re.X,
)
# $name counts as interpolation only where a variable can start (not inside a word: "super$ecret")
# A "$" inside a word ("Pa$$w0rd") is part of the password; "$$HOME" (make, compose) is still a reference.
# The name must also end where a name can end (end, space, quote, path or URL punctuation): in a
# generated secret "[$_hK4^" is not a variable.
_FORMAT = re.compile(
    rb"(\{[\w.]*\}|%\(?\w*\)?[sd]|(?<![A-Za-z0-9])(?<![A-Za-z0-9]\$)\$\w+(?=$|[\s\"'`/.:@,;)\]}\-?&=+*$\\|<>\[])"
    rb"|\$\{|#\{|\{\{)"
)
_PCT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")
_NAMED_PASSWORD = re.compile(rb"^(?:a|my|your|the|some|new|old|db|user|admin)[_\-]?pass(?:word|wd)?$")
_FIELD_WORD = re.compile(rb"_*[a-z]+(?:[_\-][a-z]+)*")
_PW_FIELD = re.compile(rb"_*[a-z_]*pass(?:word|wd)[a-z_]*\d?")  # password1 / password2: form field names
_QUOTED_ITEM = re.compile(rb"\"[^\"\n]{0,80}\"|'[^'\n]{0,80}'")
_ROUTE = re.compile(rb"/?[a-z_]+(?:/[a-z_:]+)+#[a-z_]+")
# code between two literals: + x + / . $x . (a value that starts or ends with the other quote and an operator
# is the inside of "...'" + pw + "'...": the quotes delimit two literals, not a password)
_CONCAT = re.compile(
    rb"^\s*[\"'`]?\s*\+|\+\s*[\"'`]?\s*$|^\s*[\"'`]?\s*\.\s*\$|^[\"'`]\s*\.\s|\s\.\s*[\"'`]$"
)
_VERSIONED = re.compile(rb"[A-Za-z][\w.]*[-:]v?\d+\.\d+(?:\.\d+)+$")
# 1.302103, v2.4, 1219328376.07815 (a time stamp), 2024-01-31T10:00:00: versions and times, not passwords
_NUMBERISH = re.compile(rb"v?\d+(?:\.\d+)+|\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+Z?)?")
# a key or label rather than a value: "password2:" (end of a condition), ":ref:" (an RST role),
# "password=" (one of a list of empty key=value options), "::device:" (a VMS path)
_LABEL = re.compile(rb":.*|[A-Za-z_][\w.\-]*[:=]")
# two quoted names side by side, the second a snake_case or password-field name: a list of names
# (@sensitive_variables("password1", "password2"), ("pass_word", "credit_card")), not key and value
_NAME_LITERAL = re.compile(rb"_*[a-z][a-z0-9]*(?:_[a-z0-9]+)+|_*[a-z_]*pass(?:word|wd)?[a-z_]*\d*")
_DJANGO_HASH = re.compile(
    rb"(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|sha1|md5|unsalted_md5|unsalted_sha1|crypt)\$"
)
_CLASS_NAME = re.compile(rb"(?:[A-Z][a-z]+){2,}")
# a host name (lower-case labels and a common top-level domain): "secret: project-1.hasura.app" names a
# server; a generated secret is never spelled like one
_HOSTNAME = re.compile(
    rb"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    rb"(?:com|net|org|io|app|dev|cloud|co|ai|us|uk|de|fr|eu|info|biz|local|internal|corp|lan|cn|jp|ru|in|br)"
)
_PROSE_END = re.compile(rb"[.;!?]$")
_UUID = re.compile(rb"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


_URL_TOKEN_SEGMENT = re.compile(
    rb"/(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{8,}(?:/|$)"
)


def _secret_url(s: bytes, key: bytes | None) -> bool:
    """A webhook URL is itself the credential when its path carries a generated-looking segment."""
    return bool(
        key and b"webhook" in key.lower() and b"://" in s and _URL_TOKEN_SEGMENT.search(s.split(b"://", 1)[1])
    )


# Real, widespread weak passwords that are also stop words: a password slot holding one is a credential
# (Laravel Homestead's database password is "secret", so are countless docker-compose files), unlike
# the words that name the slot (password, pass, pwd) or ask to be replaced (changeme, <password>).
_WEAK_PASSWORDS = {b"secret"}
# ... and, quoted after "the password is", the defaults people write down ('admin', 'root').
_QUOTED_WEAK_PASSWORDS = _WEAK_PASSWORDS | {b"admin", b"root", b"test", b"guest"}


_ENCRYPTED_PREFIXES = (
    b"ENC(",
    b"ENC[",
    b"enc:",
    b"ENC:",
    b"vault:v",
    b"$ANSIBLE_VAULT",
    b"{cipher}",
    b"AGE-ENCRYPTED",
)
_WRONG_VALUE = re.compile(
    rb"(?:wrong|incorrect|invalid|bad|error|fail(?:ed|ure)?|bogus|nope|not[-_]?(?:the[-_]?)?(?:right|real|valid|correct))"
    rb"(?:[-_ ]?(?:pass(?:word)?|passwd|pw|pwd|secret|token|key|value|creds?))?[0-9]?"
)
# [label]: target - a Markdown reference-link definition ([credential-store]: configuration.md#credentialstore)
_MD_REF_LINK = re.compile(rb"\s{0,3}\[[^\]\n]+\]:\s+\S+(?:\s+[\"'(][^\n]*)?\s*")


# not "secret": top_secret and supersecret are passwords
_PW_WORD = re.compile(rb"pas+w(?:or)?d|pswd|passphrase")
_PATH_OR_FILE = re.compile(
    rb"[\w.\-]*[A-Za-z][\w.\-]*(?:/[\w.\-]+)*\.(?:zip|war|jar|ear|ova|ovf|vmdk|iso|img|tar|gz|tgz|bz2|xz|json|ya?ml|xml|txt|"
    rb"csv|log|pem|crt|cer|der|pfx|p12|jks|keystore|png|jpe?g|gif|svg|pdf|exe|dll|so|dylib|bin|dat|html?|py|js|sh)"
    rb"|[a-z][a-z0-9\-]{4,}/[\w.\-]+(?:/[\w.\-]*)*|[\w\-]+(?:/[\w.\-]+)+/"  # cloudformation/7870..., prefix/dir/
)


_DESCRIBER = re.compile(
    rb"(?:my|your|our|new|old|enter|generated|regenerated|default|sample|example|some|no)"
)


def _describes_password(low: bytes) -> bool:
    """Words around the word password (and at most one digit): a name or description of a password.

    ``mynewpassword``, ``smb-file-server-password``, ``no-password-required``, ``kmspswd``,
    ``generatedwebdavpassword1``; ``password1`` / ``password123`` / ``p@55w0rd!`` are passwords (kept).
    """
    if not re.fullmatch(rb"[a-z][a-z_\-. ]*[0-9]?\.?", low) or not _PW_WORD.search(low):
        return False
    rest = _PW_WORD.sub(b"", low)
    if len(re.sub(rb"[^a-z]", b"", rest)) >= 3 and (re.search(rb"[_\-. ]", low) or _DESCRIBER.match(low)):
        return True  # run together, only after a describing word: "thisismypassword" is typed as a password
    word = low.rstrip(b"0123456789.")
    return not rest.strip(b"_-. 0123456789") and word not in (
        b"secret",
        b"password",
        b"passwd",
        b"passphrase",
    )


def _in_arn(c: Candidate) -> bool:
    """The value sits inside an ARN (``arn:partition:service:region:account:secret:NAME``)."""
    pos = c.line.find(c.secret)
    if pos < 0:
        return False
    token = re.split(rb"[\s\"'`,;(){}\[\]<>=]", c.line[:pos])[-1]
    return token.lower().startswith(b"arn:")


def generic_value(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """Values that are code, configuration references or templates rather than literals.

    ``generic_value:password``: the value fills a password slot, so a weak password is kept.
    """
    s = c.secret.strip()
    low = s.lower()
    if low in _STOPWORDS and not (arg == "password" and low in _WEAK_PASSWORDS):
        return "stopword"
    if s[:1] in (b"$", b"%", b"{", b"[", b"(", b"@", b"&", b"#") or s.startswith(
        (b"!Ref", b"\\&", b"\\$", b"\\@")
    ):
        return "reference or template"  # \&fetch_password: a Perl code reference
    if s.startswith(_ENCRYPTED_PREFIXES) or re.match(rb"![A-Za-z]+$", s):
        return "already encrypted, or a YAML tag"  # ENC(...), !vault |, vault:v1:..., {cipher}...
    if _WRONG_VALUE.fullmatch(low):
        return "a wrong value a test tries"  # login(password="wrong"), check(password="error")
    if _FORMAT.search(s):
        return "format string"
    if _CODE_REF.match(s) and not _secret_url(s, c.key):
        return "code reference"
    if _UUID.match(s):
        return "uuid"
    if _CONCAT.search(s):
        return "string concatenation (code between two literals)"
    if _ROUTE.fullmatch(s):
        return "route (controller#action)"
    if _in_arn(c):
        return "part of an ARN (a resource's name)"  # arn:aws:secretsmanager:...:secret:MyTestSecret-a1b2c3
    if _describes_password(low):
        return "describes a password rather than being one"  # smb-file-server-password, NewPassword
    if _PATH_OR_FILE.fullmatch(s):
        return "a file name or path"  # S3Key: my-app/releases/app-2.3.1.war
    if low.startswith((b"arn:", b"aws:")) or _VERSIONED.search(s):
        return "resource name or versioned artifact"
    if c.key is not None and low == c.key.lower():
        return "value equals the name"
    if _NAMED_PASSWORD.match(low):
        return "names a password rather than being one"
    if (_FIELD_WORD.fullmatch(s) or _PW_FIELD.fullmatch(low)) and len(_QUOTED_ITEM.findall(c.line)) >= 3:
        return "one of a list of field names"
    return _not_a_literal(c, s, low, arg)


def _interface_text(s: bytes) -> bool:
    """Two to six letter-only words in sentence or title case ("Mot de passe", "Current Password"): what
    a form label or a translation file gives a password-named key. A generated or chosen password mixes
    classes; a lower-case passphrase ("yfof olpz bdkb vdjm", an app password) is not caught here."""
    words = s.decode("utf-8", "replace").rstrip(" ?:.!…").split(" ")
    if not 2 <= len(words) <= 6 or not all(w.isalpha() for w in words) or not words[0][:1].isupper():
        return False
    return all(
        w[1:].islower() and (i == 0 or w.islower() or w.istitle()) for i, w in enumerate(words) if len(w) > 1
    )


def _not_a_literal(c: Candidate, s: bytes, low: bytes, arg: str) -> str | None:
    """Shapes real code and documentation give a secret-named slot that are not secrets (see each reason)."""
    if _NUMBERISH.fullmatch(s):
        return "version number or time stamp"
    if _MD_REF_LINK.fullmatch(c.line):
        return "Markdown reference link"
    if low.endswith((b"?", b"[]", b"!")) and low.rstrip(b"?[]!") in _STOPWORDS:
        return "type name"  # "password": "string?" (a protocol schema), "str[]", GraphQL's "String!"
    if c.quoted and _interface_text(s):
        return "interface text (a label or its translation)"  # {"password": "Mot de passe"}
    if arg != "password" and _HOSTNAME.fullmatch(s):
        return "host name"
    if _DJANGO_HASH.match(s):
        return "password hash (Django's algorithm$iterations$salt$hash), not the password"
    if b"\\|" in s:
        return "regular expression (escaped alternation)"
    if not c.quoted and _LABEL.fullmatch(s):
        return "a key or label, not a value"
    if c.quoted and (c.secret[:1].isspace() or c.secret[-1:].isspace()):
        return "text between two quoted spans"  # from `Old Password:` to `New Password:`
    if low.endswith((b"-here", b"_here", b" here")) or b"anonymous" in low:
        return "placeholder (describes the value, or the anonymous-login convention)"
    if not c.quoted and c.key is not None and _label_then_prose(c):
        return "a word in a sentence (a label followed by more words)"  # "Pass: From the indentation ..."
    words = s.split()
    if len(words) >= 3 and (_PROSE_END.search(s) or words[0].rstrip(b";,:.").lower() in _STOPWORDS):
        return "prose (a description of the setting)"  # <passphrase>optional; leave empty if not used.</..>
    if c.key is not None:
        k = c.key.strip(b"\"'[]$>-.")
        if _NAME_LITERAL.fullmatch(s) and re.search(
            re.escape(k) + rb"[\"']\s*,\s*[\"']" + re.escape(s), c.line
        ):
            return "one of a list of names"
        ka, sa = re.sub(rb"[^a-z0-9]", b"", k.lower()), re.sub(rb"[^a-z0-9]", b"", low)
        if arg != "password" and len(ka) >= 8 and sa.startswith(ka[:8]):
            return "value repeats the name"  # "libsecret-1.so.0": "libsecret-1-0" (password = "password1" is one)
    if c.quoted and _CLASS_NAME.fullmatch(s) and _name_suffix(c.path)[1] in CODE_EXT:
        return "class or type name"  # password => "TextInput" (a form field's widget class)
    if arg == "password" and _repeated_value(c, s):
        return "the same value is given to other names (an enum or category)"
    return None


_PROSE_AFTER = re.compile(rb"[ \t]+(?![\w.\-]+[ \t]*[=:])[A-Za-z0-9(\[]")


def _label_then_prose(c: Candidate) -> bool:
    """``Name: word more words``: a colon label and a sentence (key=value records, comments are kept)."""
    assert c.key is not None
    kpos = c.line.find(c.key)
    spos = c.line.find(c.secret, kpos + len(c.key)) if kpos >= 0 else -1
    if spos < 0:
        return False
    between = c.line[kpos + len(c.key) : spos]
    return b":" in between and b"=" not in between and bool(_PROSE_AFTER.match(c.line, spos + len(c.secret)))


def _repeated_value(c: Candidate, s: bytes) -> bool:
    """Two or more of the 6 lines above give this very word to names that are not secret names.

    ``"password": "unreserved"`` in a table of SQL keywords: an enum, not a password.
    """
    if not c.before or not re.fullmatch(rb"[a-z][a-z_\-]{2,30}", s):
        return False
    pat = re.compile(rb"[:=>]\s*[\"']?" + re.escape(s) + rb"[\"']?\s*[,;]?\s*$")
    lines = c.before.rstrip(b"\n").split(b"\n")[-6:]
    return sum(1 for ln in lines if pat.search(ln) and not _SECRETISH_LINE.search(ln)) >= 2


_SECRETISH_LINE = re.compile(rb"(?i)pass|pwd|secret|token|key|auth|cred")


# "pass" at the end of a name (DB_PASS, dbpass) but not the English words compass, bypass, surpass, ...
_PW_KEY = re.compile(
    rb"(?i)(passw|passphrase|pwd|passwd|(?:^|[^a-z])pass(?:[^a-z]|$)"
    rb"|(?<!com)(?<!by)(?<!sur)(?<!tres)(?<!over)(?<!under)(?<!last)(?<!kee)pass$)"  # LastPass:, KeePass: name a product
)
_KEY_NOT_SECRET = re.compile(
    rb"(?i)(?:policy|length|len|min|max|regex|pattern|field|label|prompt|placeholder|hint|message|msg|url|uri|path|file|"
    rb"env|var|name|type|format|expiry|expires|expiration|required|validator|validation|count|reset|strength|rule|"
    rb"changed|change|enabled|mode|confirm|verify|digest|hash|salt|id|header|column|param|arg|time|date|timestamp|"
    rb"encryption|algorithm|algo|scheme|method|cipher|verifier|used|status|state|age|updated|created)s?$"
    rb"|__[a-z]+$"  # Django-style query lookups: password__startswith="md5$"
    rb"|encrypted|hashed|cipher"  # encrypted_password: the value is ciphertext, not the password
)


# Formats that name the passwd database, file or package, never a password: nsswitch.conf
# ("passwd: files"), lintian overrides ("passwd: elevated-privileges ..."), the shared MIME globs
_PASSWD_NAME_FILES = re.compile(
    r"(?:^|/)(?:nsswitch\.conf|[^/]*\.lintian-overrides|mime/globs2?)$|(?:^|/)lintian/overrides/"
)


def password_key(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """The assigned name really names a password (not ``passenger``, ``password_reset_url``)."""
    key = (c.key or b"").strip(b"\"'[]$>-.")
    if not _PW_KEY.search(key):
        return "name is not a password"
    if _KEY_NOT_SECRET.search(key):
        return "name describes password metadata"
    if _PASSWD_NAME_FILES.search(c.path):
        return "file names the passwd database or package"
    return None


_SECRET_KEY_META = re.compile(
    rb"(?i)(?:public|csrf|xsrf|keyvault|key_vault|encrypt|cipher|sealed|wrapped|hashed)"
    rb"|(?:next|page|continuation|pagination|starting|resume|sync|cursor|output|input)[_\-]?tokens?$"
    rb"|(?:change|client|update|idempotency|share|request)[_\-]?tokens?$"  # AWS idempotency / concurrency tokens
    rb"|(?:result|sort|partition|primary|foreign|range|hash|row|cache|object|lookup|index|routing|shard|s3|dict|map|"
    rb"composite|dedup|deduplication|message|i18n|translation|condition|tag|group)[_\-]?keys?$"  # names of keys, not keys
    rb"|(?:id|ids|url|uri|urls|file|files|path|name|names|type|types|"
    rb"format|length|len|ttl|expiry|expires|header|endpoint|provider|field|label|prompt|count|size|version|mode|"
    rb"enabled|kind|dir|location|prefix|suffix|policy|arn|ref|env|var|hint|placeholder|time|date|timestamp|expiration|"
    rb"source)s?$"
)


def secret_key(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """The assigned name describes the secret (its id, URL, file, name) or is public by design (CSRF)."""
    key = (c.key or b"").strip(b"\"'[]$>-._")
    if key and _SECRET_KEY_META.search(key):
        return "name describes metadata or a public value"
    return None


# snake_case, kebab-case and dotted names (digit groups allowed: release-notes-2024), camelCase, PascalCase
# with acronyms (DBClusterSnapshots): names of things, not generated tokens
_IDENTIFIER = re.compile(
    rb"_*[a-z]+(?:[_\-./](?:[a-z]+|[0-9]+))+|_*[a-z]+(?:[A-Z][a-z]+)+|[A-Z]{0,5}[A-Z][a-z]+(?:[A-Z]{1,5}[a-z]+|[A-Z][a-z]+)+"
)
_HEADER_NAME = re.compile(rb"[A-Z][a-z]*(?:-[A-Z][a-z]*)+")


def token_shape(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A generated token: no spaces, several character classes, not a word or identifier."""
    s = c.secret
    if b" " in s or b"\t" in s:
        return "contains spaces"
    classes = sum(bool(re.search(p, s)) for p in (rb"[a-z]", rb"[A-Z]", rb"[0-9]", rb"[^A-Za-z0-9]"))
    if classes < 2:
        return "single character class"
    if _IDENTIFIER.fullmatch(s):
        return (
            "identifier"  # snake_case, camelCase, a/b/c (a namespaced name: "io.vendor/related-task"), a slug
        )
    if _HEADER_NAME.fullmatch(s):
        return "HTTP header name"  # TOKEN_HEADER = "X-Amz-Security-Token"
    return None


_HASH_WORDS = re.compile(
    rb"(?i)sha|hash|digest|checksum|commit|revision|\brev\b|integrity|etag|md5|fingerprint|hmac"
)
_HEXLIKE = re.compile(rb"^(?:sha\d*[:\-])?[0-9a-fA-F]{32,128}$|^sha\d+[:\-]")


def hash_context(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A hex digest on a line that talks about hashes or commits."""
    if _HEXLIKE.match(c.secret) and (_HASH_WORDS.search(c.line) or c.secret.lower().startswith(b"sha")):
        return "hash or commit id"
    return None


CODE_EXT = {
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".java", ".kt", ".kts", ".scala", ".go", ".rb",
    ".php", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".rs", ".swift", ".m", ".mm", ".dart", ".lua", ".pl", ".pm",
    ".r", ".jl", ".ex", ".exs", ".erl", ".clj", ".groovy", ".vue", ".svelte",
}  # fmt: skip


def code_unquoted(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """In source code an unquoted right-hand side is a variable, not a literal."""
    if not c.quoted and _name_suffix(c.path)[1] in CODE_EXT:
        return "unquoted value in source code"
    return None


LOCKFILES = {
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile.lock",
    "cargo.lock", "go.sum", "composer.lock", "gemfile.lock", "pdm.lock", "uv.lock", "packages.lock.json", "mix.lock",
}  # fmt: skip
_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "fixture", "fixtures", "testdata", "test_data",
              "mocks", "__mocks__", "__snapshots__", "e2e"}  # fmt: skip
_TEST_FILE = re.compile(
    r"(?i)^(?:test_.*\.py|.*_test\.(?:py|go|rb|exs)|.*\.(?:spec|test)\.[jt]sx?|.*Tests?\.(?:java|kt|cs)|conftest\.py)$"
)


def _segments(path: str) -> list[str]:
    """The names in a /-separated path, as ``PurePosixPath(path).parts`` has them (empty and "." dropped)
    without its root: plain string work, as pathlib costs ~20 us a call and a history has many paths."""
    return [seg for seg in path.split("/") if seg and seg != "."]


@lru_cache(maxsize=4096)
def _test_dir(folder: str) -> bool:
    """A folder (``/``-separated) with a test or fixture folder in it; a history has few, its paths many."""
    return any(p.lower() in _TEST_DIRS for p in _segments(folder))


@lru_cache(maxsize=16384)
def is_test_path(path: str) -> bool:
    folder, _, name = path.replace("\\", "/").rpartition("/")
    if name and name != ".":  # the usual path: its last segment is the file name
        return _test_dir(folder) or bool(_TEST_FILE.match(name))
    parts = _segments(path.replace("\\", "/"))
    return any(p.lower() in _TEST_DIRS for p in parts[:-1]) or bool(parts and _TEST_FILE.match(parts[-1]))


@lru_cache(maxsize=16384)
def _name_suffix(path: str) -> tuple[str, str]:
    """(lower-case file name, lower-case suffix): filters ask this for every candidate of a blob.
    The suffix is pathlib's: from the last dot, unless the name starts or ends there."""
    name = path.rpartition("/")[2]
    if not name or name == ".":  # a path ending in "/" or "/.": the name is the last real segment
        parts = _segments(path)
        name = parts[-1] if parts else ""
    dot = name.rfind(".")
    return name.lower(), name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def generic_path(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """Generic rules stay quiet in lock files (hashes galore) and in tests / fixtures (fake credentials)."""
    return _generic_path(c.path, cfg, arg)


def _generic_path(path: str, cfg: FilterConfig, arg: str = "") -> str | None:
    name = _name_suffix(path)[0]
    if not cfg.include_lockfiles and (name in LOCKFILES or name.endswith(".lock")):
        return "lock file"
    if not cfg.include_tests and is_test_path(path):
        return "test or fixture path"
    if name.endswith((".min.js", ".min.css", ".map", ".css", ".scss", ".less")):
        return "minified, source map or style sheet"
    return None


_PW_STOP = _STOPWORDS | {
    b"incorrect", b"correct", b"invalid", b"valid", b"wrong", b"expired", b"required", b"below", b"above", b"attached",
    b"sent", b"provided", b"stored", b"reset", b"changed", b"set", b"the", b"your", b"a", b"an", b"not", b"being",
    b"same", b"case-sensitive", b"protected", b"encrypted", b"missing", b"blank", b"too", b"must", b"should",
}  # fmt: skip


_HTML_ENTITY = re.compile(rb"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _unescape_html(s: bytes) -> bytes:
    """The value as a reader of the HTML page sees it, cut where the phrasing rules would have stopped.

    ``printf(&quot;Password is correct.&quot;)`` and ``passphrase: &#x3C;string>`` are markup: unescaped,
    the value is ``correct.`` (a word) and ``<string`` (a type placeholder).
    """
    import html

    text = html.unescape(s.decode("utf-8", "replace")).encode()
    m = re.match(rb"[^\s\"'<>]*", text)
    cut = m.group() if m else b""
    return (cut.rstrip(b".,;:") or text[:1]) if cut != text else text


# Words that make a run of lower-case words a sentence, not a passphrase ("see the vault", "la de siempre",
# "envoyé par SMS"): function words, and what people write in a password slot instead of a password.
_PHRASE_STOP = {
    b"the", b"a", b"an", b"and", b"or", b"but", b"not", b"no", b"is", b"are", b"was", b"be", b"to", b"of", b"in",
    b"on", b"at", b"for", b"from", b"with", b"by", b"as", b"it", b"its", b"this", b"that", b"these", b"those",
    b"you", b"your", b"our", b"my", b"his", b"her", b"their", b"we", b"they", b"he", b"she", b"will", b"can",
    b"use", b"used", b"using", b"see", b"ask", b"same", b"usual", b"one", b"ones", b"before", b"above", b"below",
    b"sent", b"send", b"sms", b"text", b"mail", b"email", b"phone", b"call", b"vault", b"manager", b"keeper",
    b"separately", b"later", b"attached", b"previous", b"current", b"old", b"new", b"blank", b"empty", b"none",
    b"leave", b"set", b"reset", b"change", b"changed", b"enter", b"type", b"via", b"please", b"printed",
    b"card", b"router", b"back", b"under", b"into", b"than", b"then", b"when", b"if", b"so", b"just", b"only",
    b"also", b"all", b"any", b"some", b"each", b"every", b"here", b"there", b"what", b"which", b"who", b"how",
    b"le", b"la", b"les", b"de", b"des", b"du", b"un", b"une", b"et", b"ou", b"par", b"pour", b"est", b"mon",
    b"votre", b"celui", b"meme", b"el", b"los", b"las", b"del", b"por", b"para", b"que", b"misma", b"mismo",
    b"siempre", b"der", b"die", b"das", b"den", b"dem", b"und", b"oder", b"mit", b"per", b"wie", b"immer",
    b"siehe", b"gleiche", b"il", b"lo", b"di", b"che", b"quella", b"solita", b"solito", b"o", b"os",
    b"da", b"do", b"com", b"una", b"uno", b"het", b"een", b"en", b"van", b"voor", b"zie", b"op", b"met",
}  # fmt: skip
_PHRASE = re.compile(rb"[a-z]{3,12}(?: [a-z]{3,12}){2,5}")


def _phrase(s: bytes) -> str | None:
    """A passphrase of several lower-case words, or a sentence (the words people write instead)."""
    words = s.split()
    if len(words) < 4 or any(w in _PHRASE_STOP or w in _PW_STOP for w in words):
        return "a sentence, not a passphrase"
    if len(set(words)) < len(words):
        return "repeated words"
    return None


def _classes(t: str) -> tuple[bool, bool, bool, bool]:
    """(letter, digit, symbol, mixed case) of a value, non-ASCII letters (é, ß) counting as letters."""
    letter = any(ch.isalpha() for ch in t)
    digit = any(ch.isdigit() for ch in t)
    symbol = any(not ch.isalnum() for ch in t)
    mixed = any(ch.islower() for ch in t) and any(ch.isupper() for ch in t[1:])
    return letter, digit, symbol, mixed


# two words joined by a dot, the second capitalised and ending in digits (river.Stone66): a password
# pattern people are taught; code references do not capitalise the attribute and end it with a number
_WORD_DOT_WORD = re.compile(rb"[a-z]{3,}\.[A-Z][a-z]{2,}[0-9]{1,4}")
# three or more words of 4+ letters joined by dashes (a passphrase people type: walnut-harbor-meadow)
_WORDS_JOINED = re.compile(rb"(?:[a-z]{4,10}-){2,5}[a-z]{4,10}|(?:[a-z]{4,10}\.){3,5}[a-z]{4,10}")
# four or more words joined by dots (a passphrase: walnut.harbor.meadow.tulip), unless a part names code or config
_DOTTED_CODE_WORDS = re.compile(
    rb"(?:^|\.)(?:java|javax|android|apache|google|python|jakarta|spring|util|utils|config|settings|password|passwd|"
    rb"secret|secrets|security|auth|internal|common|core|impl|module|modules|system|value|values|example)(?:\.|$)"
)
_DATE = re.compile(rb"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_HEX_LITERAL = re.compile(rb"(?i)0x[0-9a-f]+|[0-9a-f]{7,}|\d+(?:[a-z]{1,3}|%)")


def human_password(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A value a person would type as a password: not a word, a mask or a reference.

    ``human_password:strong``: the value follows a label with no separator or a verb like "use" / "try", so
    it must look chosen as a password (letters with digits, or a symbol and a capital), or be quoted.
    """
    s = c.secret
    if _HTML_ENTITY.search(s):
        s = _unescape_html(s)
    if b" " in s:
        return _phrase(s)
    if s[-1:] in (b"(", b"["):
        return "code expression"  # password = request.POST[...
    if b"(" not in s and s[-1:] in (b")", b"]", b";", b","):
        s = s.rstrip(b")];,") or s  # password=None), password=password): the end of a call
    low = s.lower()
    if re.fullmatch(rb"[a-z_]+[=:]", low):
        return "another option's name"  # "passphrase= password= timeout=" (a list of key= options)
    if re.fullmatch(rb"[a-z]+(?:/[a-z]+)+", low):
        return "alternatives (word/word)"  # passcode is supported/enabled/disabled
    quoted = any(q + s + q in c.line for q in (b'"', b"'", b"`")) or "“".encode() + s in c.line
    if (low in _PW_STOP and not (quoted and low in _QUOTED_WEAK_PASSWORDS)) or len(s) < 4:
        return "ordinary word"
    if set(s) <= set(b"*x.#-_?") or s[:1] in (b"$", b"%", b"{", b"<", b"[", b"(", b".", b"\\"):
        return "mask or reference"  # \$_POST[...] is an escaped reference
    if s[:1] == s[-1:] == b"|":
        return "a reference (|tag| in a help file)"
    if re.fullmatch(rb"-{1,2}[a-z][a-z0-9]*(?:-[a-z0-9]+)*", s):
        return "a command-line option"  # --password PASSWORD --confirmation-code CODE
    if re.fullmatch(rb"[a-z][a-z0-9]*(?:_[a-z0-9]+)+=[^=\s]{0,7}", s) or _UUID.match(s):
        return "a setting or an identifier"  # aws_access_key_id=foo, a certificate's UUID
    if _describes_password(low):
        return "describes a password rather than being one"
    if re.fullmatch(rb"![A-Za-z]+", s) or s.startswith(_ENCRYPTED_PREFIXES):
        return "a YAML tag or an encrypted value"  # password: !vault | (Ansible Vault ciphertext follows)
    if _NAMED_PASSWORD.match(low):
        return "names a password rather than being one"  # myPassword, your_password
    dotted_phrase = bool(
        re.fullmatch(rb"(?:[a-z]{4,10}\.){3,5}[a-z]{4,10}", s)
    ) and not _DOTTED_CODE_WORDS.search(s)
    if (
        _CODE_REF.match(s)
        and not re.search(rb"[0-9]", s.split(b".")[0])
        and not _WORD_DOT_WORD.fullmatch(s)
        and not dotted_phrase
    ):
        return "code reference"
    if re.fullmatch(rb"[A-Za-z][a-z]+[?!.:,]", s):
        return "a word and its punctuation"  # "Password\nForgot?" (a login form copied into a mail)
    letter, has_digit, has_symbol, mixed = _classes(s.decode("utf-8", "replace"))
    if not (has_digit or has_symbol or mixed) and not quoted and not (len(s) >= 24 and s.isalpha()):
        return "plain word"  # but 24+ letters is several words run together (walrussaturnlantern...)  # a quoted word after "the password is" is deliberate: kept
    if re.fullmatch(rb"[0-9]{1,3}|[0-9./:\-]+", s) and len(s) < 6:
        return "number or date"
    if _DATE.fullmatch(s):
        return "a date"  # "the password for your account ... will expire on 21/03/2026"
    if s.isdigit() and _ONE_TIME.search(c.line):
        return "a one-time code (expires within minutes)"
    if re.match(rb"(?i)https?://", s) or (b"@" in s and b"." in s.split(b"@")[-1]):
        return "url or address"
    if arg == "strong":
        if len(s) < 6 or not letter or _HEX_LITERAL.fullmatch(s) or _NUMBERISH.fullmatch(s):
            return "not shaped like a chosen password"
        if re.fullmatch(rb"[A-Za-z]+[0-9]+", s) and len(s) < 9:
            return "a name with a number (sha256, Python3, utf8)"
        if not (has_digit or (has_symbol and mixed) or _WORDS_JOINED.fullmatch(s)):
            return "not shaped like a chosen password"  # a word, a hyphenated identifier (gssapi-with-mic)
    return None


_ADMIN_USERS = {b"admin", b"administrator", b"root", b"sa", b"operator", b"ubnt", b"pi", b"guest", b"support"}


def user_slash_pass(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """The password of a ``user / password`` pair: chosen-looking, not the second of two names.

    "amd64 / arm64", "linux-x64 / win-x64", "src / lib/util" are alternatives or paths: the value needs a
    symbol other than . - _ / : with digits or mixed case, or upper, lower and digits, or digits after an
    admin account name (``Administrator / QW7RT2KX``, a factory default).
    """
    why = human_password(c, cfg, "strong")
    if why:
        return why
    t = c.secret.decode("utf-8", "replace")
    _letter, digit, _symbol, mixed = _classes(t)
    symbol = bool(re.search(r"[^\w.\-/:]", t))
    upper, lower = any(ch.isupper() for ch in t), any(ch.islower() for ch in t)
    if symbol and (digit or mixed):
        return None
    if upper and lower and digit:
        return None
    m = re.search(rb"(\S+)[ \t]+/[ \t]+" + re.escape(c.secret), c.line)
    if digit and m and m.group(1).lower() in _ADMIN_USERS:
        return None
    return "not shaped like a chosen password (alternatives or a path)"


_ONE_TIME = re.compile(
    rb"(?i)one[- ]time|verification|\botp\b|\b2fa\b|security code|expires? in \d+ (?:min|sec)"
)


def pin_code(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A PIN or door code (digits) or, with ``pin_code:recovery``, a recovery code: not a filler or a year."""
    s = c.secret
    if arg != "recovery" and _ONE_TIME.search(c.line):
        return "a one-time code (expires within minutes)"
    digits = re.sub(rb"[^0-9]", b"", s)
    if arg != "recovery" and re.fullmatch(rb"(?:19|20)\d\d", s):
        return "a year"
    if digits and len(set(digits)) == 1 and len(digits) >= 4:
        return "repeated digit"
    if (
        digits
        and (digits in b"01234567890123456789" or digits in b"98765432109876543210")
        and len(digits) >= 4
    ):
        return "placeholder (sequence)"
    groups = re.split(rb"[- ]", s.lower())
    if len(groups) > 1 and len(set(groups)) == 1:
        return "repeated group"
    return None


def pasted_token(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A key or token pasted into prose: generated-looking (letters and digits, no word or dotted name)."""
    s = c.secret
    if not (re.search(rb"[0-9]", s) and re.search(rb"[A-Za-z]", s)):
        return "not a generated token (letters and digits)"
    if re.fullmatch(rb"[\w\-]+(?:\.[\w\-]+){2,}", s) and not re.search(rb"[A-Z].*[0-9]|[0-9].*[A-Z]", s):
        return "a dotted name"
    if entropy(s) < (3.0 if arg == "hex" else 3.5):  # 16 symbols: a random 32-hex key often scores under 3.5
        return "low entropy"
    if re.fullmatch(rb"[0-9]+(?:[\-.][0-9]+)*", s):
        return "a number"
    return _sequence(s.lower())


_PW_PLACEHOLDERS = {b"password", b"pass", b"passwd", b"pwd", b"pw", b"changeme", b"xxx", b"***", b"user",
                    b"username", b"passw0rd", b"p@ssw0rd", b"p@ssword", b"mypassword", b"yourpassword", b"mysecret",
                    b"pass123", b"password123", b"123456", b"foobar", b"foo", b"bar", b"passphrase",
                    b"passcode"}  # fmt: skip


_ANON_LOGIN = re.compile(rb"(?i)\b(?:login|user)\s+(?:anonymous|ftp)\b")


def placeholder_password(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """Documentation passwords in URLs and command lines (``user:password@``, ``$PASS``, netrc ``"PASSWORD"``)."""
    s = c.secret.strip()
    if len(s) > 2 and s[:1] == s[-1:] and s[:1] in (b'"', b"'"):
        s = s[1:-1]  # netrc allows quoted tokens: password "PASSWORD"
    low = s.lower()
    if b"@" in s and _ANON_LOGIN.search(c.line):
        return "anonymous login (the password is an e-mail address by convention)"
    if low in _WEAK_PASSWORDS:
        return None  # a real (weak) password in the slot
    if low in _PW_PLACEHOLDERS or low in _STOPWORDS or (len(set(low)) == 1 and len(low) >= 3):
        return "placeholder password"
    if s[:1] in (b"$", b"%", b"{", b"<", b"[", b"*") or _FORMAT.search(_PCT_ESCAPE.sub(b"_", s)):
        return "reference or template"  # URL escapes (%40 for @) are not printf formats
    return None


_OPTION_WORDS = {b"flag", b"flags", b"option", b"options", b"argument", b"arguments", b"parameter",
                 b"parameters", b"switch", b"switches", b"is", b"are", b"was", b"and", b"or", b"will", b"can"}  # fmt: skip
_FUNCTION_WORDS = {b"and", b"or", b"to", b"from", b"of", b"for", b"with", b"is", b"are", b"was", b"be", b"in",
                   b"on", b"instead", b"that", b"which", b"when", b"if", b"the", b"a", b"an", b"as", b"by", b"it",
                   b"but", b"not", b"than", b"so"}  # fmt: skip


def flag_prose(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """An option named in a sentence, not given a value.

    "the --password flag is deprecated", "--password suffers from the same problem", "use the
    --username and --password options instead": the "value" is an English word ("flags", or followed
    by a function word). ``mysqldump --password s3cret app`` stays (the next word is an argument).
    """
    s = c.secret
    if _describes_password(s.lower()) or _IDENTIFIER.fullmatch(s):
        return "names the value rather than giving it"  # --password smb-file-server-password, NewPassword
    if not re.fullmatch(rb"[a-z]+", s):
        return None
    if s in _OPTION_WORDS:
        return "an option named in prose"
    m = re.search(rb"(?<![\w-])" + re.escape(s) + rb"[ \t]+([a-z]+)\b", c.line)
    if m and m.group(1) in _FUNCTION_WORDS:
        return "an option named in prose"
    return None


_BADGE_URL = re.compile(rb"(?:\.svg|status-badge|/badge)[^\s\"'<>)]*?[?&][\w-]*token=$", re.I)


def badge_url(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A token in a status-badge image URL (``build.svg?style=svg&circle-token=...``): CircleCI's
    documented status tokens, made to be published in READMEs; they read a build's status only."""
    pos = c.line.find(c.secret)
    if pos > 0 and _BADGE_URL.search(c.line[max(0, pos - 300) : pos]):
        return "status-badge token (made to be published)"
    return None


def needs_context(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A bare token shape that is only a secret when the line names the provider."""
    low = c.line.lower()
    if any(word.encode() in low for word in arg.split("|")):
        return None
    return "provider not named on the line"


_LIST_ITEM = re.compile(rb"""^\s*(?:-\s+)?(?:["'][^"'\n]*["']|<[^>\n]*>[^<\n]*</[^>\n]*>)\s*,?\s*$""")
_PW_LIST_KEY = re.compile(
    rb"""(?i)(?:passw(?:or)?ds?|passwds?|pwds?)[A-Za-z0-9_]*["']?\s*(?::\s*\[?|=\s*\[|>)\s*$"""
)


def password_list(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A list item counts only when the list hangs under a password-named key (YAML, JSON, XML)."""
    for prev in reversed(c.before.split(b"\n")[:-1] if c.before.endswith(b"\n") else c.before.split(b"\n")):
        if not prev.strip() or _LIST_ITEM.match(prev):
            continue
        return None if _PW_LIST_KEY.search(prev.rstrip()) else "list not under a password key"
    return "list not under a password key"


# HMAC keys printed in public documentation and tutorials (jwt.io's defaults among them)
_PUBLIC_JWT_KEYS = (b"a-string-secret-at-least-256-bits-long", b"your-256-bit-secret", b"your-384-bit-secret",
                    b"your-512-bit-secret", b"secret")  # fmt: skip
_JWT_HASH = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}


def jwt_public_key(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A JWT whose HMAC signature verifies with a key printed in public documentation is an example."""
    import base64
    import hashlib
    import hmac
    import json

    parts = c.secret.split(b".")
    if len(parts) != 3:
        return None
    try:
        pad = b"=" * (-len(parts[0]) % 4)
        alg = json.loads(base64.urlsafe_b64decode(parts[0] + pad)).get("alg")
        sig = base64.urlsafe_b64decode(parts[2] + b"=" * (-len(parts[2]) % 4))
    except (ValueError, AttributeError):
        return None
    digest = _JWT_HASH.get(alg) if isinstance(alg, str) else None
    if digest is None:
        return None
    signed = parts[0] + b"." + parts[1]
    for key in _PUBLIC_JWT_KEYS:
        if hmac.compare_digest(hmac.new(key, signed, getattr(hashlib, digest)).digest(), sig):
            return "example token signed with a publicly documented key"
    return None


def basic_auth_placeholder(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A base64 ``user:password`` pair (Docker ``auth``) whose password is a documentation one (user:pass)."""
    import base64

    if len(c.secret) > 512:
        return None
    try:
        plain = base64.b64decode(c.secret, validate=True)
    except ValueError:
        return None
    _user, sep, password = plain.partition(b":")
    if not sep:
        return None
    low = password.strip().lower()
    if not low or low in _PW_PLACEHOLDERS or low in _STOPWORDS:
        return "placeholder password (base64 user:password)"
    return None


# Keys a vendor publishes (for local emulators, in SDK test suites): in every tutorial or vendored
# copy of the SDK, and they open nothing of the user's.
_PUBLISHED_KEYS = {
    # Azure storage emulator / Azurite account key (account devstoreaccount1)
    b"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    # Azure Cosmos DB emulator key
    b"C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
    # Google API keys in the public test suites of Firebase's SDKs (firebase-android-sdk): every
    # vendored copy of the SDK carries them; gitleaks allow-lists the same values
    b"AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    b"AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    b"AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    b"AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    b"AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    b"AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    b"AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    b"AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    b"AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    b"AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    b"AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    b"AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    b"AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    b"AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
    b"AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
}


def published_key(c: Candidate, cfg: FilterConfig, arg: str = "") -> str | None:
    """A key the vendor itself published (Azurite, Cosmos DB emulator, Firebase SDK tests)."""
    return "a vendor's published key" if c.secret in _PUBLISHED_KEYS else None


FILTERS: dict[str, Filter] = {
    "placeholder": placeholder,
    "generic_value": generic_value,
    "password_key": password_key,
    "token_shape": token_shape,
    "secret_key": secret_key,
    "hash_context": hash_context,
    "code_unquoted": code_unquoted,
    "generic_path": generic_path,
    "human_password": human_password,
    "user_slash_pass": user_slash_pass,
    "pin_code": pin_code,
    "pasted_token": pasted_token,
    "placeholder_password": placeholder_password,
    "needs_context": needs_context,
    "flag_prose": flag_prose,
    "password_list": password_list,
    "jwt_public_key": jwt_public_key,
    "basic_auth_placeholder": basic_auth_placeholder,
    "published_key": published_key,
    "badge_url": badge_url,
}


# Filters whose answer depends on the path and the scan's switches alone, never on the value: where one
# drops a rule's candidates, it drops every one of them, so the engine need not confirm that rule there.
# Each as a function of (path, config, argument), the filter itself being that function of the candidate's path.
PATH_ONLY_FILTERS: dict[str, Callable[[str, FilterConfig, str], str | None]] = {"generic_path": _generic_path}


def path_silences(names: tuple[str, ...], path: str, cfg: FilterConfig) -> bool:
    """True when one of ``names``' path-only filters drops every candidate found in ``path``."""
    for spec in names:
        name, _, arg = spec.partition(":")
        by_path = PATH_ONLY_FILTERS.get(name)
        if by_path is not None and by_path(path, cfg, arg):
            return True
    return False


def known_filter(spec: str) -> bool:
    return spec.split(":", 1)[0] in FILTERS


def run_filters(names: tuple[str, ...], c: Candidate, cfg: FilterConfig) -> str | None:
    """The first reason to drop the candidate, or None to keep it."""
    reason = placeholder(c, cfg)
    if reason:
        return reason
    for spec in names:
        name, _, arg = spec.partition(":")
        reason = FILTERS[name](c, cfg, arg)
        if reason:
            return reason
    if len(c.secret) <= 120 and not _PASSWORD_FILTERS.intersection(names):
        # last (regex work). Machine tokens only: people do choose Summer123456 as a password, and
        # PEM bodies and other long encodings legitimately hold AAAAAAAA runs
        return _sequence(c.secret.lower())
    return None


_PASSWORD_FILTERS = {"password_key", "human_password", "placeholder_password", "pin_code"}
