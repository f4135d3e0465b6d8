"""A node of its own for the HA scripts: a private network namespace with a veth pair (the
node's `eth0`), where a script may add and remove addresses without touching this machine's.

The namespace has no route out. The moto server and the fake IMDS listening on this
machine's 127.0.0.1 are reached from the namespace's own 127.0.0.1, on the same ports,
through a Unix socket per port (a forwarder inside the namespace, one here): the scripts'
traffic stays on loopback.

    python tests/e2e/node.py PORT=SOCKET ...   # the forwarder inside the namespace
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

NAMES = itertools.count()


def usable() -> str | None:
    """Why a node cannot be made here (None: it can): it needs root and iproute2."""
    if os.geteuid() != 0:
        return "a network namespace needs root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    return None


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)


def _serve(listener: socket.socket, connect: tuple[int, object]) -> None:
    """Accept on `listener`; join each connection to a new one to `connect` (family, address)."""
    family, address = connect
    while True:
        try:
            accepted, _ = listener.accept()
        except OSError:
            return
        onward = socket.socket(family, socket.SOCK_STREAM)
        try:
            onward.connect(address)
        except OSError:
            accepted.close()
            continue
        for a, b in ((accepted, onward), (onward, accepted)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def forward_unix_to_tcp(path: str, port: int) -> socket.socket:
    """Here: connections to Unix socket `path` go on to 127.0.0.1:`port`."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    threading.Thread(
        target=_serve, args=(listener, (socket.AF_INET, ("127.0.0.1", port))), daemon=True
    ).start()
    return listener


class Node:
    """A namespace named `name` with `eth0` (a veth pair) and the forwarded ports."""

    def __init__(self, ports: list[int], address: str | None = None) -> None:
        self.name = f"eniops-node-{os.getpid()}-{next(NAMES)}"
        self._folder = tempfile.mkdtemp(prefix="eniops-node-")
        self._listeners: list[socket.socket] = []
        self._forwarder: subprocess.Popen[bytes] | None = None
        self.ports = ports
        self.address = address

    def __enter__(self) -> Node:
        ip = ["ip", "-n", self.name]
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            subprocess.run([*ip, "link", "set", "lo", "up"], check=True)
            subprocess.run(
                [*ip, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"], check=True
            )
            for dev in ("eth0", "peer0"):
                subprocess.run([*ip, "link", "set", dev, "up"], check=True)
            if self.address:
                subprocess.run([*ip, "address", "add", self.address, "dev", "eth0"], check=True)
            self._forward()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _forward(self) -> None:
        pairs = []
        for port in self.ports:
            path = os.path.join(self._folder, f"{port}.sock")
            self._listeners.append(forward_unix_to_tcp(path, port))
            pairs.append(f"{port}={path}")
        self._forwarder = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, __file__, *pairs],
            stdout=subprocess.PIPE,
        )
        assert self._forwarder.stdout is not None
        assert self._forwarder.stdout.readline().strip() == b"ready"

    def __exit__(self, *_: object) -> None:
        if self._forwarder is not None:
            self._forwarder.kill()
            self._forwarder.wait()
        for listener in self._listeners:
            listener.close()
        subprocess.run(["ip", "netns", "delete", self.name], check=False)
        shutil.rmtree(self._folder, ignore_errors=True)

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` on the node."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )

    def addresses(self, dev: str = "eth0") -> list[str]:
        """The node's addresses on `dev`, as ADDRESS/PREFIX (global scope)."""
        shown = subprocess.run(
            ["ip", "-n", self.name, "-j", "address", "show", "dev", dev],
            capture_output=True,
            text=True,
            check=True,
        )
        return [
            f"{a['local']}/{a['prefixlen']}"
            for link in json.loads(shown.stdout)
            for a in link.get("addr_info", [])
            if a.get("scope") == "global"
        ]


@contextlib.contextmanager
def node(ports: list[int], address: str | None = None) -> Iterator[Node]:
    with Node(ports, address) as made:
        yield made


def _main(pairs: list[str]) -> None:
    """Inside the namespace: 127.0.0.1:PORT goes on to the Unix socket."""
    for pair in pairs:
        port, path = pair.split("=", 1)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(port)))
        listener.listen(64)
        connect = (socket.AF_UNIX, path)
        threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _main(sys.argv[1:])
