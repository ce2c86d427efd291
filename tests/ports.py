"""A free TCP port on loopback, for servers a test starts on a port it must name up front."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the OS's pick); another process could take it before the
    test binds it, which on a test machine does not happen in practice."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
