"""How an operation does several things at once, in one place.

eniops uses daemon threads and nothing else:

- `at_once` runs independent calls together (the reads an operation makes before its
  plan, the chains of a plan, the bookkeeping calls that ride beside a change's check) and
  waits for all of them; the first error, in argument order, is raised once all have ended,
  so that nothing is left running unseen.
- the shared poller of an operation is one thread, started when the first wait begins and
  ended when the last one does;
- each EC2 call runs on a thread of its own, so that the deadline can abandon a call that
  does not answer (`_gateway`).

Threads are daemons so that an abandoned call never holds the process at its exit. Nothing
is shared between them but the operation's run (its settings, deadline and gateway), which
is read-only, and the results each returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` together; return their results in order, or raise the first error (in
    argument order) once every call has ended. One call runs on the caller's thread."""
    if len(calls) <= 1:
        return [call() for call in calls]
    outcomes: list[Any] = [None] * len(calls)
    failed: list[BaseException | None] = [None] * len(calls)

    def one(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except BaseException as err:  # handed to the caller's thread
            failed[index] = err

    threads = [
        threading.Thread(target=one, args=(i,), name=f"eniops-{i}", daemon=True)
        for i in range(1, len(calls))
    ]
    for thread in threads:
        thread.start()
    one(0)
    for thread in threads:
        thread.join()
    error = next((err for err in failed if err is not None), None)
    if error is not None:
        raise error
    return outcomes
