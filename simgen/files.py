"""Writing a file atomically: the one helper every writer of simgen uses (datasets, reports,
previews, exports, the generated assets)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# New files get the usual permissions (what open() would give under the process umask), not
# mkstemp's 0600: datasets and assets are read by other users and tools.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: bytes, durable: bool = False) -> None:
    """Write `data` to `path` through a uniquely named temporary file in the same folder
    (`.NAME.tmp-PID-XXXX`, which simgen.dataset.writer cleans up after a kill) and a rename:
    no reader ever sees a half-written file, two writers of the same content never clash, and
    nothing is left behind on failure. `durable` also flushes the data to disk first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
