"""Mail readers on real Outlook files from ../shared/datasets/mail (skipped when absent)."""

from __future__ import annotations

import os
import re
import sys

import olefile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mail"))
from mailkit import eml_with, only_blob, read_all, shared_sample

from nightowl.secrets.mail import is_mail_archive, mail_kind
from nightowl.secrets.mail.text import lzfu_decompress, rtf_to_text


def test_sample_pst_one_message():
    path = shared_sample("sample.pst")
    assert mail_kind(path) == "pst"
    blobs, problems, stats = read_all(path, "sample.pst")
    assert problems == [] and stats.messages == 1
    folder = "sample.pst/Outlook データ ファイルのトップ/下書き/1"  # "Top of Outlook data file/Drafts"
    assert {b.path for b in blobs} == {folder}
    assert {b.message_id for b in blobs} == {"<pst:Outlook データ ファイルのトップ/下書き/1>"}
    assert only_blob(blobs, "test").part == "subject"
    by_part = {b.part: b.data.decode() for b in blobs}
    assert by_part["body"].strip() == "テスト"
    # the HTML body is iso-2022-jp (PR_INTERNET_CPID 50220); its visible text is the same word
    assert by_part["body.html"].strip() == "テスト"


def test_strange_date_msg():
    path = shared_sample("strangeDate.msg")
    assert is_mail_archive(path)
    blobs, problems, stats = read_all(path, "strangeDate.msg")
    assert problems == [] and stats.messages == 1
    assert only_blob(blobs, "MSG Test File").part == "subject"
    body = only_blob(blobs, 'The names "John Doe" for males')
    assert (body.path, body.part) == ("strangeDate.msg", "body")
    # no PR_INTERNET_MESSAGE_ID and no transport headers: a content-hash id, the same on every read
    assert body.message_id.startswith("<msg:sha256:")
    assert read_all(path, "copy.msg")[0][0].message_id == body.message_id


def test_unicode_msg_and_its_two_attachments():
    path = shared_sample("unicode.msg")
    blobs, problems, stats = read_all(path, "unicode.msg")
    assert problems == []
    mid = "<CADtJ4eNjQSkGcBtVteCiTF+YFG89+AcHxK3QZ=-Mt48xygkvdQ@mail.gmail.com>"
    assert {b.message_id for b in blobs} == {mid}
    assert only_blob(blobs, "Test for TIF files").part == "subject"
    assert only_blob(blobs, "experiment with the MS Outlook MSG Extractor").part == "body"
    # both attachments are TIFF images (PR_ATTACH_LONG_FILENAME names, bytes start "II*\0"):
    # read and identified, but there is no text in them to scan
    assert stats.binary_paths == ["unicode.msg/import OleFileIO.tif", "unicode.msg/raised value error.tif"]
    assert stats.binary_kinds == {"image/tiff": 2}


def test_msg_attached_to_an_eml_is_opened(tmp_path):
    data = shared_sample("unicode.msg").read_bytes()
    path = eml_with(tmp_path, "fwd.eml", [("forwarded.msg", data, "application/vnd.ms-outlook")])
    blobs, problems, stats = read_all(path, "fwd.eml")
    assert problems == []
    body = only_blob(blobs, "MS Outlook MSG Extractor")
    assert (body.path, body.part, body.message_id) == (
        "fwd.eml/forwarded.msg",
        "attachment:forwarded.msg/body",
        "<fwd.eml@fixture.nightowl.test>",
    )
    assert stats.binary_paths == [
        "fwd.eml/forwarded.msg/import OleFileIO.tif",
        "fwd.eml/forwarded.msg/raised value error.tif",
    ]


def test_compressed_rtf_body_decodes_to_the_plain_body():
    """LZFu decompression and RTF-to-text, checked against the plain body Outlook stored beside it."""
    with olefile.OleFileIO(str(shared_sample("strangeDate.msg"))) as ole:
        compressed = ole.openstream("__substg1.0_10090102").read()
        plain = ole.openstream("__substg1.0_1000001F").read().decode("utf-16-le")
    rtf = lzfu_decompress(compressed, 1 << 24)
    assert len(rtf) == int.from_bytes(compressed[4:8], "little")
    assert rtf.startswith(b"{\\rtf1") and rtf.rstrip(b"\x00").endswith(b"}")

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text)

    # HTML de-encapsulated from the RTF, then reduced to text: the same words, links included
    assert words(rtf_to_text(rtf)) == words(plain)
