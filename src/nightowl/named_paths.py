"""The check every command makes of a path named on its command line (kept free of heavy imports:
``nightowl secrets`` uses it without loading the log readers)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def named_path_problem(raw: str) -> str | None:
    """One line saying why ``raw`` cannot be read (it does not exist, is a symbolic link loop, a link to
    itself included, or a dangling link), or None."""
    path = Path(raw)
    if path.exists():
        return None
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as exc:
            kind = "loop" if exc.errno == errno.ELOOP else "target missing"
        else:
            kind = "unreadable"
        return f"{raw}: symbolic link loop or dangling link ({kind})"
    return f"{raw}: no such file or directory"
