"""Caps that keep a hostile mailbox from exhausting memory, and the counters a summary shows.

Every cap that triggers yields a :class:`~nightowl.secrets.blob.Problem`: a secret scanner must
say what it did *not* look at. Binary attachments (images, PDFs) are not problems: there is no
text in them for a text rule to match, so they are only counted in :class:`MailStats`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MiB = 1 << 20
MAX_LISTED = 1000


@dataclass(frozen=True)
class MailLimits:
    """How much of one mailbox the readers will inflate and hold in memory at once."""

    max_part_bytes: int = 50 * MiB  # one decoded body part or attachment
    max_message_bytes: int = 64 * MiB  # one raw message (parsed in memory: peak RSS is about 10x this)
    max_zip_member_bytes: int = 50 * MiB  # one inflated zip member
    max_zip_total_bytes: int = 200 * MiB  # all inflated members of one archive, nested ones included
    max_zip_ratio: int = 200  # inflated / compressed, checked once a member passes 1 MiB
    max_zip_members: int = 10_000
    max_zip_depth: int = 2  # a zip inside a zip inside a zip is not opened
    max_depth: int = 12  # nesting of multiparts, forwarded messages, attachments and archives
    max_parts: int = 10_000  # MIME parts (or MAPI attachments) in one message
    max_line_bytes: int = 1 * MiB  # mbox reading buffer: longer lines are read in pieces
    max_folder_depth: int = 64  # PST folder nesting


@dataclass
class MailStats:
    """What the readers saw; filled in place while the iterator runs (pass one to keep it)."""

    messages: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    problems: int = 0
    binary_skipped: int = 0  # attachments with no text to scan (images, PDFs, executables...)
    binary_kinds: Counter = field(default_factory=Counter)  # e.g. {"image/tiff": 2}
    binary_paths: list[str] = field(default_factory=list)  # the first MAX_LISTED skipped attachments

    def skip_binary(self, path: str, kind: str) -> None:
        self.binary_skipped += 1
        self.binary_kinds[kind] += 1
        if len(self.binary_paths) < MAX_LISTED:
            self.binary_paths.append(path)
