"""Issue 14, case 6: expansion has a total cap, and bombs end quickly with their reason.

``message repeated N times`` in sshd logs counts N records, but at most MAX_REPEAT_ROWS_PER_FILE
rows are materialised per file (the rest are counted as ignored with the cap's reason);
decompression bombs (a gzip of newlines, zips of overlapping entries) are refused at once.
"""

from __future__ import annotations

from nightowl.sources import sshd
from tests.hostile.formats import read

LINE = "Dec 10 07:00:0{i} h sshd[9{i}]: message repeated 999999 times: [ Failed password for root from 192.0.2.{i} port 1 ssh2]\n"


def test_repeat_expansion_is_capped_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(sshd, "MAX_REPEAT_ROWS_PER_FILE", 5000)
    path = tmp_path / "auth.log"
    path.write_text("".join(LINE.format(i=i) for i in range(10)))
    assert path.stat().st_size < 1500
    rows, tally = read(sshd.SOURCES[0], path)
    assert rows == 5000 + 10  # each line's own record, plus the capped repeats
    assert tally.records == 10 * 999_999  # every repeat is still accounted for
    (reason,) = [r for r in tally.ignored_reasons if "expansion cap" in r]
    assert tally.ignored_reasons[reason] == 10 * 999_998 - 5000
