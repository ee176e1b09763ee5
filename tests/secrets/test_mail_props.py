"""Property tests: hostile bytes never crash a reader, and every mbox message is accounted for.

The readers are called directly (not through ``iter_mail_blobs``, whose last-resort guard would
hide a reader bug as a Problem).
"""

from __future__ import annotations

import codecs
import html
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mail"))
from mailkit import FIXTURES, SHARED_MAIL

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import MailLimits, MailStats
from nightowl.secrets.mail.context import Run
from nightowl.secrets.mail.eml import iter_eml
from nightowl.secrets.mail.mbox import iter_mbox
from nightowl.secrets.mail.msg import iter_msg_file
from nightowl.secrets.mail.pst import iter_pst
from nightowl.secrets.mail.text import (
    codec_for,
    decode,
    html_to_text,
    looks_textual,
    lzfu_decompress,
    rtf_to_text,
)

READERS = {".eml": iter_eml, ".mbox": iter_mbox, ".msg": iter_msg_file, ".pst": iter_pst}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = MailLimits(max_part_bytes=1 << 16, max_message_bytes=1 << 18, max_zip_total_bytes=1 << 18)


def _run_reader(suffix: str, data: bytes) -> list[Blob | Problem]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        stats = MailStats()
        items = list(READERS[suffix](path, path.name, Run(SMALL, stats)))
    assert all(type(i) in (Blob, Problem) for i in items)
    assert stats.blobs + stats.problems == len(items)
    for item in items:
        if isinstance(item, Blob):
            assert item.path.startswith(path.name) and item.message_id and item.part
            assert len(item.data) <= 4 * SMALL.max_part_bytes  # decoded text of a capped part
            item.data.decode("utf-8")  # blobs are always valid UTF-8 text
    return items


@SETTINGS
@given(suffix=st.sampled_from(sorted(READERS)), data=st.binary(max_size=4096))
def test_random_bytes_never_crash(suffix, data):
    _run_reader(suffix, data)


@SETTINGS
@given(suffix=st.sampled_from([".eml", ".mbox"]), data=st.binary(max_size=2048))
def test_random_bytes_after_real_headers(suffix, data):
    head = b"From a@b Mon Mar  4 09:00:00 2024\n" if suffix == ".mbox" else b""
    head += b"From: a@example.test\nSubject: x\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n"
    _run_reader(suffix, head + data)


def _samples() -> list[tuple[str, bytes]]:
    found = [
        (".mbox", (FIXTURES / "secrets.mbox").read_bytes()),
        (".eml", (FIXTURES / "attachments.eml").read_bytes()),
    ]
    for name, suffix in (("sample.pst", ".pst"), ("unicode.msg", ".msg"), ("strangeDate.msg", ".msg")):
        if (SHARED_MAIL / name).exists():
            found.append((suffix, (SHARED_MAIL / name).read_bytes()))
    return found


SAMPLES = _samples()


@SETTINGS
@given(
    which=st.integers(min_value=0, max_value=len(SAMPLES) - 1),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(min_value=0.0, max_value=0.9999), st.integers(0, 255)), max_size=40),
)
def test_truncated_and_garbled_real_files_never_crash(which, cut, flips):
    suffix, original = SAMPLES[which]
    data = bytearray(original[: max(1, int(len(original) * cut))] if cut < 0.98 else original)
    for where, value in flips:
        data[int(where * len(data))] = value
    _run_reader(suffix, bytes(data))


def test_real_samples_are_in_the_property_corpus():
    if not SHARED_MAIL.is_dir():
        pytest.skip("../shared/datasets/mail not present")
    assert {s for s, _ in SAMPLES} == {".mbox", ".eml", ".pst", ".msg"}


_line = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60).map(
    lambda s: s.replace("\r", " ").replace("\n", " ")
)


@SETTINGS
@given(bodies=st.lists(st.lists(_line, min_size=1, max_size=6), min_size=1, max_size=8))
def test_every_mbox_message_accounted_for(bodies):
    """Body lines starting 'From ' (quoted '>From ' by the writer, mboxrd style) never split a message."""
    out = []
    for n, lines in enumerate(bodies, start=1):
        out.append(f"From sender{n}@example.test Mon Mar  4 09:00:00 2024\n")
        out.append(
            f"From: s{n}@example.test\nMessage-ID: <m{n}@prop.test>\nContent-Type: text/plain; charset=utf-8\n\n"
        )
        for line in [*lines, f"marker-{n}-end"]:
            quoted = ">" + line if line.lstrip(">").startswith("From ") else line
            out.append(quoted + "\n")
        out.append("\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.mbox"
        path.write_bytes("".join(out).encode("utf-8"))
        stats = MailStats()
        items = list(iter_mbox(path, "p.mbox", Run(MailLimits(), stats)))
    assert stats.messages == len(bodies)
    assert not [i for i in items if isinstance(i, Problem)]
    for n in range(1, len(bodies) + 1):
        holders = [i for i in items if isinstance(i, Blob) and f"marker-{n}-end".encode() in i.data]
        assert [(b.path, b.message_id) for b in holders] == [(f"p.mbox/{n}", f"<m{n}@prop.test>")]


@SETTINGS
@given(text=st.text(max_size=200))
def test_html_text_survives_escaping(text):
    got = html_to_text(f"<html><body><p>{html.escape(text)}</p><script>x()</script></body></html>")
    assert " ".join(got.split()) == " ".join(html.unescape(html.escape(text)).split())


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_rtf_and_lzfu_never_crash_on_garbage(data):
    assert isinstance(rtf_to_text(b"{\\rtf1 " + data), str)
    assert isinstance(rtf_to_text(b"{\\rtf1\\fromhtml1 " + data), str)
    try:
        out = lzfu_decompress(b"\x00" * 8 + b"LZFu" + b"\x00" * 4 + data, 10_000)
    except ValueError:
        return
    assert len(out) <= 10_000


@SETTINGS
@given(charset=st.text(max_size=30), data=st.binary(max_size=200))
def test_decode_never_crashes_on_any_charset(charset, data):
    assert isinstance(decode(data, charset), str)
    name = codec_for(charset)
    assert name is None or codecs.lookup(name)._is_text_encoding  # never a bytes-to-bytes codec


def test_hostile_charset_names_are_not_used():
    assert codec_for("base64") is None and codec_for("rot13") is None and codec_for("zlib") is None
    assert codec_for("50220") == "iso2022_jp" and codec_for(65001) == "utf-8" and codec_for(1252) == "cp1252"
    assert decode(b"aGVsbG8=", "base64") == "aGVsbG8="  # shown as is, never decoded as base64


def test_plain_rtf_text():
    rtf = (
        rb"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}"
        rb"\pard the password is: caf\'e9-\u8364?-Rtf\par "
        rb'{\field{\*\fldinst HYPERLINK "https://vault.example.test/s?t=RTF-LINK-1"}{\fldrslt open vault}}}'
    )
    text = rtf_to_text(rtf)
    assert "the password is: café-€-Rtf\n" in text
    assert "open vault" in text and "<https://vault.example.test/s?t=RTF-LINK-1>" in text
    assert "Arial" not in text and "red0" not in text


@pytest.mark.parametrize(
    ("data", "textual"),
    [
        (b"KEY=value\n", True),
        ("clé=valeur\n".encode("latin-1"), True),
        ("секрет=1\n".encode("utf-16"), True),
        ("пароль: x\n".encode(), True),
        (b"%PDF-1.7\n...", False),
        (b"\x89PNG\r\n\x1a\n", False),
        (b"abc\x00def", False),
        (bytes(range(256)), False),
        (b"", False),
    ],
)
def test_looks_textual(data, textual):
    assert looks_textual(data) is textual
