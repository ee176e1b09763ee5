"""A mail location carries when the message was sent, so a secret's uses can be dated against it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import dataset

from nightowl.secrets.mail import iter_mail_blobs


def dates(path: Path) -> set[str | None]:
    return {getattr(b, "date", "problem") for b in iter_mail_blobs(path, path.name)}


def test_eml_date_header_in_utc_and_unreadable_dates_are_none(tmp_path: Path) -> None:
    good = tmp_path / "a.eml"
    good.write_text("Subject: x\nDate: Mon, 05 Aug 2024 21:36:51 +0200\nMessage-ID: <a@x>\n\nbody\n")
    assert dates(good) == {"2024-08-05T19:36:51Z"}
    bad = tmp_path / "b.eml"
    bad.write_text("Subject: x\nDate: the day before yesterday\x00\nMessage-ID: <b@x>\n\nbody\n")
    assert dates(bad) == {None}


def test_real_msg_and_pst_samples_are_dated() -> None:
    assert dates(dataset("mail/unicode.msg")) == {"2013-11-18T08:26:24Z"}  # transport headers' Date
    assert dates(dataset("mail/sample.pst")) == {"2025-09-05T00:59:41Z"}  # no headers: delivery time
    assert dates(dataset("mail/strangeDate.msg")) == {None}  # a Date nobody can read is no date
