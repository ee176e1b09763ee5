"""What the secret scanner's sources hand to the engine: bytes with a location, or a problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Blob:
    """Bytes to scan and where they came from.

    ``path`` is the path as given on the command line joined with the path inside it
    (``mail.mbox``, ``repo/config/app.env``, ``archive.pst/Inbox/3/attachment.zip/.env``).
    ``line_offset`` is added to line numbers found inside ``data`` (for chunks of a larger text).
    """

    path: str
    data: bytes
    commit: str | None = None  # git only: the commit that introduced this blob at this path
    message_id: str | None = None  # mail only
    part: str | None = None  # mail: MIME part path ("2.1", "attachment:creds.txt"); git: "message", "note"
    line_offset: int = 0
    name: str | None = None  # the path rules and filters see (default: the last part of ``path``)
    tag: str | None = None  # git only: the tag whose message this is
    date: str | None = None  # mail only: the message's Date, ISO 8601 UTC (when a secret in it was sent)


@dataclass(frozen=True)
class Problem:
    """A path that could not be scanned (or only partly): reported and counted, never silent."""

    path: str
    reason: str
