"""eniops' loggers, the only way a module of eniops gets one.

A library logs; the application decides where to. The `eniops` logger gets a NullHandler
when the first module that logs is loaded, so that no record of eniops is ever printed by
logging's last resort, and `import eniops` does not load `logging` for code that never logs
(the command line's `--help`, a Lambda's cold start before its first record).
"""

from __future__ import annotations

import logging

logging.getLogger("eniops").addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger `name`: `eniops` or a child of it, which the NullHandler covers."""
    if name != "eniops" and not name.startswith("eniops."):
        raise ValueError(f"not one of eniops' loggers: {name!r}")
    return logging.getLogger(name)
