"""What the core does with a recording's file, whoever wrote it: make a file a dead worker left
playable (`repair`), read its duration, hash it, and say what it is when served (`media_type`).
The core's recording index (`callcenter.history.recordings`) and its HTTP endpoint use this
module and nothing else of the media package, so it imports the standard library and `ogg` only:
the core server process must not load aiortc or numpy.

Recordings are Ogg Opus files (`.ogg`, `ogg`'s docstring). Installations that recorded before
that have WAV files (`.wav`) in their index: those are finished files, served as they are.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from callcenter.media import ogg

__all__ = ["SUFFIX", "CHANNELS", "repair", "duration_of", "sha256_of", "media_type"]

SUFFIX = ".ogg"
CHANNELS = ogg.CHANNELS
_MEDIA_TYPES = {".ogg": "audio/ogg", ".wav": "audio/wav"}


def repair(path: Path) -> None:
    """Make a file whose writer died mid-call playable: cut after its last whole Ogg page."""
    if path.suffix == SUFFIX:
        ogg.repair(path)


def duration_of(path: Path) -> float:
    """Seconds of audio in the file (0 for a format this version does not write)."""
    return ogg.duration_of(path) if path.suffix == SUFFIX else 0.0


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (a long call's file runs to tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def media_type(path: Path) -> str:
    """The Content-Type to serve the file with."""
    return _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
