"""How eniops does several things at once, in one place.

- Every EC2 call runs on one bounded pool of threads per process (`submit`), shared by every
  operation running in it. Whoever waits for a call stops waiting at its bound (the
  deadline), so a hung endpoint cannot stretch a deadline; the abandoned call ends on its
  own, at the latest when the client's read timeout passes.
- The executor's loop (`eniops._executor`) is the only code that sends work to the pool from
  inside an operation's plan: a call made on the pool runs there in place (`on_pool`), its
  future held, and its bound kept, by the loop.
- `at_once` runs independent reads before a plan together, each on a short-lived thread of
  its own that waits for its calls on the pool; the first error, in argument order, is
  raised once all have ended, so that nothing is left running unseen.

Nothing is shared between threads but the operation's settings, deadline and gateway, which
are read-only, and the results each returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, overload

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
E = TypeVar("E")
F = TypeVar("F")
G = TypeVar("G")
H = TypeVar("H")

#: Calls in flight at once in one process. EC2 refills an account's describe bucket at 20
#: a second and its mutating one at 5: a process with more calls than this waiting on EC2 at
#: once is past what the account lets through anyway (the rest wait their turn in order).
WORKERS = 32

_local = threading.local()
_pool: list[ThreadPoolExecutor] = []  # made on the first call (import stays cheap)
_pool_lock = threading.Lock()
_running = [0]


def _mark() -> None:
    _local.on_pool = True


def on_pool() -> bool:
    """True on a thread of the pool: a call made here runs in place."""
    return bool(getattr(_local, "on_pool", False))


def submit(fn: Callable[[], T]) -> Future[T]:
    """Run `fn` on the pool; its future is the caller's to wait for, within its bound."""
    with _pool_lock:
        if not _pool:
            # Lazy: concurrent.futures (4 ms of `eniops --help`) loads with the first call, which
            # --help never makes.
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            _pool.append(ThreadPoolExecutor(WORKERS, "eniops-call", initializer=_mark))
        _running[0] += 1
    future = _pool[0].submit(fn)
    future.add_done_callback(_ended)
    return future


def _ended(_: object) -> None:
    with _pool_lock:
        _running[0] -= 1


def running() -> int:
    """Calls on the pool that have not ended: after an operation, calls given up on at their
    bound (the command line exits without waiting for them, as it would for a daemon)."""
    with _pool_lock:
        return _running[0]


# Each read's own type, position by position, for up to eight reads.
@overload
def at_once(a: Callable[[], A], b: Callable[[], B], /) -> tuple[A, B]: ...
@overload
def at_once(a: Callable[[], A], b: Callable[[], B], c: Callable[[], C], /) -> tuple[A, B, C]: ...
@overload
def at_once(
    a: Callable[[], A], b: Callable[[], B], c: Callable[[], C], d: Callable[[], D], /
) -> tuple[A, B, C, D]: ...
@overload
def at_once(
    a: Callable[[], A],
    b: Callable[[], B],
    c: Callable[[], C],
    d: Callable[[], D],
    e: Callable[[], E],
    f: Callable[[], F],
    g: Callable[[], G],
    h: Callable[[], H],
    /,
) -> tuple[A, B, C, D, E, F, G, H]: ...
@overload
def at_once(*calls: Callable[[], T]) -> tuple[T, ...]: ...
def at_once(*calls: Callable[[], object]) -> tuple[object, ...]:
    """Run `calls` together; return their results in order, or raise the first error (in
    argument order) once every call has ended. One call runs on the caller's thread."""
    if len(calls) <= 1:
        return tuple(call() for call in calls)
    outcomes: list[object] = [None] * len(calls)
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
    return tuple(outcomes)
