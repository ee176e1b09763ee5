"""Fuzz targets for every reader (each input format, through ``ingest_file`` and the store) and the
MIME walker, with a kept corpus in ``tests/hostile/corpus/<target>/``.

One property for all: whatever the bytes, a reader ends with its records accounted (the rows it
added to the store are its ``normalized`` count) or with one :class:`InputError`; the MIME walker
ends with blobs and problems. Any other exception, or a hang, is a bug.

* Briefly, in CI: ``tests/hostile/test_fuzz.py`` replays the corpus and runs a few hypothesis
  mutations of it per target (``NIGHTOWL_FUZZ_EXAMPLES`` raises the count).
* At length, coverage-guided, on demand (``pip install atheris``)::

      python -m tests.hostile.fuzz entra-graph-json -max_total_time=600

  atheris grows the target's corpus folder with the inputs that reach new code; keep the ones worth
  keeping (a crash it finds is written as ``crash-*``: move it into the corpus, fix, commit both).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from nightowl import sources
from nightowl.ingest import ingest_file
from nightowl.secrets.mail import MailLimits, MailStats
from nightowl.secrets.mail.context import Run
from nightowl.secrets.mail.mime import iter_raw_message
from nightowl.sources.base import InputError, InputFile, ReadOptions
from nightowl.store import Store

CORPUS = Path(__file__).parent / "corpus"
MIME = "mime"
OPTS = ReadOptions(max_line_bytes=1 << 14)  # small, so oversized lines are reachable from small inputs
MAIL_LIMITS = MailLimits(max_part_bytes=1 << 16, max_message_bytes=1 << 18, max_zip_total_bytes=1 << 18)


def targets() -> list[str]:
    """Every input format, then the MIME walker."""
    return [s.name for s in sources.all_sources()] + [MIME]


def corpus(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def run(target: str, data: bytes, tmp: Path) -> None:
    """One input through one target; raises AssertionError (or the bug's exception) on a bug."""
    (run_mime if target == MIME else run_reader)(target, data, tmp)


def run_reader(name: str, data: bytes, tmp: Path) -> None:
    path = tmp / "input"
    path.write_bytes(data)
    inp = InputFile(name="input", path=path, gzip=data[:2] == b"\x1f\x8b")
    source = sources.by_name(name)
    tables = [getattr(s, "table", "auth_events") for s in (source, *getattr(source, "also", ()))]
    with Store() as store:
        before = sum(store.row_count(t) for t in tables)
        try:
            report = ingest_file(store, inp, source, OPTS)
        except InputError as exc:
            assert "\n" not in str(exc).strip(), "an input error is one line"
            return
        t = report.tally
        assert min(t.normalized, t.ignored, t.quarantined) >= 0
        assert sum(store.row_count(t) for t in tables) - before == t.normalized  # side tables too
        assert t.ignored == sum(t.ignored_reasons.values())


def run_mime(_: str, data: bytes, tmp: Path) -> None:
    stats = MailStats()
    items = list(iter_raw_message(data, Run(MAIL_LIMITS, stats), "input.eml", "eml"))
    assert stats.blobs + stats.problems == len(items)


def _atheris_main(target: str, argv: list[str]) -> None:  # pragma: no cover - on demand
    import atheris

    atheris.instrument_all()  # coverage of every module loaded (nightowl's readers, the stdlib parsers)
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="nightowl-fuzz-"))
    one: Callable[[bytes], None] = lambda data: run(target, data, tmp)  # noqa: E731
    atheris.Setup([sys.argv[0], *argv, str(folder)], one)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) < 2 or sys.argv[1] not in targets():
        sys.exit(
            f"usage: python -m tests.hostile.fuzz TARGET [libFuzzer options]; targets: {', '.join(targets())}"
        )
    _atheris_main(sys.argv[1], sys.argv[2:])
