"""Mail readers on hand-written fixtures: each fake secret lands in exactly the blob (message, part) expected."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mail"))
from mailkit import FIXTURES, MiB, eml_with, encrypted, only_blob, read_all, zeros_bomb, zip_bytes

from nightowl.secrets.blob import Blob
from nightowl.secrets.mail import MailLimits, is_mail_archive, iter_mail_blobs, mail_kind

MBOX = FIXTURES / "secrets.mbox"
EML = FIXTURES / "attachments.eml"


@pytest.fixture(scope="module")
def mbox() -> tuple[list[Blob], list, object]:
    return read_all(MBOX, "secrets.mbox")


def test_mbox_splits_into_six_messages(mbox):
    blobs, problems, stats = mbox
    assert problems == []
    assert stats.messages == 6
    assert sorted({b.path.split("/")[1] for b in blobs}) == ["1", "2", "3", "4", "5", "6"]


def test_plain_body_secret(mbox):
    blob = only_blob(mbox[0], "AKIAZQ4NIGHTOWLPLAIN")
    assert (blob.path, blob.message_id, blob.part) == (
        "secrets.mbox/1",
        "<plain.1@fixture.nightowl.test>",
        "1",
    )
    # a body line "From ..." not after a blank line is content; ">From " quoting is undone
    assert b"From now on use the new key" in blob.data
    assert b"\nFrom the desk of Alice" in blob.data and b">From" not in blob.data


def test_quoted_printable_secret_joined_across_soft_break(mbox):
    blob = only_blob(mbox[0], "GITHUB_TOKEN=ghp_Qp7NightOwlFakeTokenForQuotedPrint4b")
    assert (blob.message_id, blob.part) == ("<qp.2@fixture.nightowl.test>", "1")
    assert "café".encode() in blob.data  # =C3=A9 decoded with the declared utf-8 charset


def test_html_body_reduced_to_visible_text(mbox):
    blobs = mbox[0]
    blob = only_blob(blobs, "the password is: Blu3-Heron!Html&more")  # tags dropped, &#33; and &amp; decoded
    assert (blob.path, blob.message_id, blob.part) == (
        "secrets.mbox/3",
        "<html.3@fixture.nightowl.test>",
        "2",
    )
    assert only_blob(blobs, "token=LINK-TOKEN-77") is blob  # link targets kept, as text clients show them
    for decoy in ("STYLE-DECOY-41", "SCRIPT-DECOY-42", "COMMENT-DECOY-43", "<b>", "<p>"):
        assert all(decoy.encode() not in b.data for b in blobs), decoy


def test_base64_text_attachment(mbox):
    blobs, _, stats = mbox
    blob = only_blob(blobs, "aws_access_key_id = AKIAZQ4NIGHTOWLBASE6")
    assert (blob.path, blob.message_id, blob.part) == (
        "secrets.mbox/4/creds.txt",
        "<b64.4@fixture.nightowl.test>",
        "attachment:creds.txt",
    )
    # the inline PNG is not text: counted, not a blob, not a problem
    assert stats.binary_skipped == 1 and stats.binary_kinds == {"image/png": 1}
    assert stats.binary_paths == ["secrets.mbox/4/logo.png"]
    assert not any(b.path.endswith("logo.png") for b in blobs)


def test_forwarded_rfc822_part(mbox):
    blobs = mbox[0]
    blob = only_blob(blobs, "ghp_Fw9NightOwlFakeTokenInForwardedMail2")
    # the outer message is the one an analyst finds in the mailbox; the part path says where inside
    assert (blob.path, blob.message_id, blob.part) == (
        "secrets.mbox/5",
        "<fwd.5@fixture.nightowl.test>",
        "2/1",
    )
    subjects = {b.part: b.data for b in blobs if b.path == "secrets.mbox/5" and b.part.endswith("subject")}
    assert subjects == {"subject": b"Fwd: deploy token\n", "2/subject": b"deploy token\n"}


def test_missing_message_id_gets_stable_synthetic_id(mbox):
    blob = only_blob(mbox[0], "the password is: NoId-Pass-6")  # unknown charset: decoded as UTF-8, not lost
    assert blob.message_id.startswith("<mbox:sha256:") and blob.part == "1"
    again = only_blob(read_all(MBOX, "elsewhere.mbox")[0], "NoId-Pass-6")
    assert again.message_id == blob.message_id and again.path == "elsewhere.mbox/6"


def test_eml_subject_rfc2231_name_sniffed_text_and_fake_txt():
    blobs, problems, stats = read_all(EML, "attachments.eml")
    assert problems == [] and stats.messages == 1
    mid = "<attachments.7@fixture.nightowl.test>"
    subject = only_blob(blobs, "the password is: Subj3ct-Secret")  # RFC 2047 encoded-word decoded
    assert (subject.message_id, subject.part) == (mid, "subject")
    body = only_blob(blobs, "Grüße Heidi")  # iso-8859-1 quoted-printable
    assert body.part == "1" and body.path == "attachments.eml"
    env = only_blob(blobs, "DB_PASSWORD=Eml-Attach-Pass-7")  # RFC 2231 utf-8 file name
    assert (env.path, env.part) == ("attachments.eml/déploiement.env", "attachment:déploiement.env")
    notes = only_blob(blobs, "the password is: NoExt-Notes-8")  # no extension, octet-stream: sniffed as text
    assert (notes.path, notes.part, notes.message_id) == ("attachments.eml/notes", "attachment:notes", mid)
    # "readme.txt" declared text/plain but is a PNG: judged by content
    assert stats.binary_kinds == {"image/png": 1} and stats.binary_paths == ["attachments.eml/readme.txt"]


def test_env_inside_zip_attachment(tmp_path):
    archive = zip_bytes(
        {"config/.env": b"AWS_ACCESS_KEY_ID=AKIAZQ4NIGHTOWLZIPEN\n", "logo.gif": b"GIF89a\x01\x00"}
    )
    path = eml_with(tmp_path, "zip.eml", [("config.zip", archive, "application/zip")])
    blobs, problems, stats = read_all(path, "zip.eml")
    assert problems == []
    blob = only_blob(blobs, "AKIAZQ4NIGHTOWLZIPEN")
    assert (blob.path, blob.message_id, blob.part) == (
        "zip.eml/config.zip/config/.env",
        "<zip.eml@fixture.nightowl.test>",
        "attachment:config.zip/config/.env",
    )
    assert stats.binary_kinds == {"image/gif": 1}


def test_zip_nested_two_levels_opened_third_refused(tmp_path):
    level3 = zip_bytes({".env": b"TOKEN=depth-three-secret\n"})
    level2 = zip_bytes({"deep.zip": level3, ".env": b"TOKEN=depth-two-secret\n"})
    level1 = zip_bytes({"inner.zip": level2})
    blobs, problems, _ = read_all(
        eml_with(tmp_path, "n.eml", [("outer.zip", level1, "application/zip")]), "n.eml"
    )
    assert only_blob(blobs, "depth-two-secret").part == "attachment:outer.zip/inner.zip/.env"
    assert not any(b"depth-three-secret" in b.data for b in blobs)
    assert [(p.path, "nested more than 2" in p.reason) for p in problems] == [
        ("n.eml/outer.zip/inner.zip/deep.zip", True)
    ]


def test_zip_bomb_refused_without_huge_blob(tmp_path):
    bomb = zeros_bomb(1)  # 1 GiB of zeros in about 1 MB
    blobs, problems, _ = read_all(
        eml_with(tmp_path, "bomb.eml", [("backup.zip", bomb, "application/zip")]), "bomb.eml"
    )
    assert [p.path for p in problems] == ["bomb.eml/backup.zip/zeros.txt"]
    assert "zip bomb" in problems[0].reason
    assert all(len(b.data) < MiB for b in blobs)
    assert [b.part for b in blobs] == ["subject", "1"]


def test_zip_of_zip_bomb_a_few_kb(tmp_path):
    outer = zip_bytes({"backup.zip": zeros_bomb(1)})
    assert len(outer) < 64 * 1024
    blobs, problems, _ = read_all(
        eml_with(tmp_path, "b42.eml", [("b42.zip", outer, "application/zip")]), "b42.eml"
    )
    assert len(problems) == 1 and "zip bomb" in problems[0].reason
    assert all(len(b.data) < MiB for b in blobs)


def test_zip_total_budget_and_member_cap(tmp_path):
    members = {f"part{i}.txt": (f"secret-{i} " + os.urandom(30_000).hex()).encode() for i in range(5)}
    limits = MailLimits(max_zip_total_bytes=150_000, max_zip_member_bytes=100_000)
    path = eml_with(tmp_path, "big.eml", [("logs.zip", zip_bytes(members), "application/zip")])
    blobs, problems, _ = read_all(path, "big.eml", limits)
    found = [i for i in range(5) if any(f"secret-{i} ".encode() in b.data for b in blobs)]
    assert found == [0, 1, 2]  # 60 KB each: the third is cut at the budget, the rest refused
    reasons = " | ".join(p.reason for p in problems)
    assert "only the first part scanned" in reasons and "remaining members not scanned" in reasons
    assert sum(len(b.data) for b in blobs if b.part.startswith("attachment:")) <= 150_000


def test_encrypted_and_corrupt_zips_are_problems(tmp_path):
    locked = encrypted(zip_bytes({"secret.txt": b"password=hidden-in-zip\n"}))
    corrupt = b"PK\x03\x04" + os.urandom(200)
    path = eml_with(
        tmp_path,
        "z.eml",
        [("locked.zip", locked, "application/zip"), ("bad.zip", corrupt, "application/zip")],
    )
    blobs, problems, _ = read_all(path, "z.eml")
    assert not any(b"hidden-in-zip" in b.data for b in blobs)
    by_path = {p.path: p.reason for p in problems}
    assert by_path["z.eml/locked.zip/secret.txt"] == "encrypted zip member: not scanned"
    assert by_path["z.eml/bad.zip"].startswith("unreadable zip archive")


def test_part_over_cap_is_cut_and_reported(tmp_path):
    text = b"head-secret-1\n" + b"x" * 5000 + b"\ntail-secret-2\n"
    path = eml_with(tmp_path, "cap.eml", [("big.log", text, "text/plain")])
    blobs, problems, _ = read_all(path, "cap.eml", MailLimits(max_part_bytes=1000))
    assert only_blob(blobs, "head-secret-1").part == "attachment:big.log"
    assert not any(b"tail-secret-2" in b.data for b in blobs)
    assert len(problems) == 1 and problems[0].path == "cap.eml/big.log" and "cap" in problems[0].reason


def test_duplicate_attachment_names_stay_distinct(tmp_path):
    path = eml_with(
        tmp_path,
        "d.eml",
        [("a.txt", b"first-copy\n", "text/plain"), ("a.txt", b"second-copy\n", "text/plain")],
    )
    blobs, _, _ = read_all(path, "d.eml")
    assert only_blob(blobs, "first-copy").part == "attachment:a.txt"
    assert only_blob(blobs, "second-copy").part == "attachment:a.txt~2"


def test_attached_eml_is_opened(tmp_path):
    inner = eml_with(tmp_path, "inner.eml", [], body="the password is: Inner-Eml-9\n").read_bytes()
    path = eml_with(tmp_path, "outer.eml", [("old.eml", inner, "application/octet-stream")])
    blobs, problems, _ = read_all(path, "outer.eml")
    blob = only_blob(blobs, "Inner-Eml-9")
    assert (blob.path, blob.part, blob.message_id) == (
        "outer.eml/old.eml",
        "attachment:old.eml/1",
        "<outer.eml@fixture.nightowl.test>",
    )
    assert problems == []


def test_deep_rfc822_nesting_is_capped(tmp_path):
    raw = b"Subject: level 0\r\nContent-Type: text/plain\r\n\r\nthe password is: bottom-of-the-stack\r\n"
    for level in range(1, 40):
        raw = (
            b"Subject: level %d\r\nMessage-ID: <l%d@x>\r\nContent-Type: message/rfc822\r\n\r\n"
            % (level, level)
            + raw
        )
    path = tmp_path / "deep.eml"
    path.write_bytes(raw)
    blobs, problems, _ = read_all(path, "deep.eml")
    assert problems and all("deeper" in p.reason or "deeply" in p.reason for p in problems)
    assert all(b.message_id == "<l39@x>" for b in blobs)


def test_pathological_multipart_nesting(tmp_path):
    depth = 3000
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    path = tmp_path / "nest.eml"
    path.write_bytes(b"From: a@example.test\r\nSubject: nest\r\n" + head.encode() + b"\r\nleaf\r\n")
    _, problems, _ = read_all(path, "nest.eml")
    assert problems, "a 3000-level multipart must be reported, not silently read"


def test_mbox_huge_line_and_from_inside_it(tmp_path):
    body = (
        b"x" * (3 * MiB)
        + b"From evil@example.test Mon Mar  4 09:00:00 2024 the password is: LongLine-Tail-10\n"
    )
    raw = b"From a@example.test Mon Mar  4 09:00:00 2024\nFrom: a@example.test\nSubject: long\nMessage-ID: <long@x>\n\n"
    path = tmp_path / "long.mbox"
    path.write_bytes(raw + b"\n" + body + b"\n")
    blobs, problems, stats = read_all(path, "long.mbox", MailLimits(max_line_bytes=64 * 1024))
    assert stats.messages == 1 and problems == []
    assert only_blob(blobs, "LongLine-Tail-10").message_id == "<long@x>"


def test_mbox_message_over_cap(tmp_path):
    raw = b"From a@x Mon Mar  4 09:00:00 2024\nFrom: a@example.test\nSubject: big\n\nearly-secret-11\n"
    path = tmp_path / "big.mbox"
    path.write_bytes(raw + b"y" * 50_000 + b"\nlate-secret-12\n")
    blobs, problems, _ = read_all(path, "big.mbox", MailLimits(max_message_bytes=10_000))
    assert only_blob(blobs, "early-secret-11").path == "big.mbox/1"
    assert not any(b"late-secret-12" in b.data for b in blobs)
    assert [p.path for p in problems] == ["big.mbox/1"] and "cap" in problems[0].reason


def test_truncated_eml_yields_what_is_there(tmp_path):
    full = eml_with(tmp_path, "t.eml", [("creds.txt", b"key=TruncatedButReadable-13\n" * 50, "text/plain")])
    data = full.read_bytes()
    full.write_bytes(data[: int(len(data) * 0.7)])
    blobs, _, _ = read_all(full, "t.eml")
    assert only_blob(blobs, "see attached").part == "1"
    assert any(b"TruncatedButReadable-13" in b.data for b in blobs)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("a.mbox", (FIXTURES / "secrets.mbox").read_bytes(), "mbox"),
        ("Inbox", (FIXTURES / "secrets.mbox").read_bytes(), "mbox"),  # Thunderbird: no extension
        ("a.eml", (FIXTURES / "attachments.eml").read_bytes(), "eml"),
        ("1709550000.M1P2.host:2,S", (FIXTURES / "attachments.eml").read_bytes(), "eml"),  # Maildir
        ("m.emlx", b"38\nFrom: a@example.test\nSubject: x\n\nhello\n<?xml", "eml"),
        ("x.pst", b"!BDN" + bytes(600), "pst"),
        ("x.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "msg"),
        ("x.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), None),
        ("config.yml", b"from: alice\nto: bob\nsubject: x\n", None),
        ("notes.txt", b"From here on we use the new VPN.\nThanks\n", None),
        ("empty.eml", b"", None),
    ],
)
def test_is_mail_archive(tmp_path, name, content, kind):
    path = tmp_path / name
    path.write_bytes(content)
    assert mail_kind(path) == kind
    assert is_mail_archive(path) is (kind is not None)


def test_not_a_mailbox_is_a_problem(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just text\n")
    items = list(iter_mail_blobs(path, "notes.txt"))
    assert len(items) == 1 and items[0].reason.startswith("not a recognised mailbox")


def test_garbage_pst_and_msg_are_problems(tmp_path):
    for name, head in (("bad.pst", b"!BDN"), ("bad.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
        path = tmp_path / name
        path.write_bytes(head + os.urandom(4000))
        blobs, problems, _ = read_all(path, name)
        assert blobs == [] and len(problems) == 1 and problems[0].path == name
