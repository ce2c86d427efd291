"""A throwaway PostgreSQL 15 cluster in a temp dir, for the store's tests and ``bench/postgres.py``.

Debian's binaries (``/usr/lib/postgresql/15/bin``) run as an unprivileged user when this process
is root (PostgreSQL refuses to run as root): ``lumospg``, created if missing. The server listens
on 127.0.0.1 at a free port, with its socket in the same temp dir, and trusts local connections:
it holds test data only and lives as long as the session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

PG_BIN = Path(os.environ.get("LUMOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "lumospg"


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the cluster would not start; the message says which."""


@dataclass
class Cluster:
    """A running cluster: ``url(name)`` is a database's URL; ``stop`` removes it all."""

    root: Path  # its socket, and its data unless kept elsewhere; removed by ``stop``
    port: int
    user: str
    data: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if a previous run left it); its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _as_user(self.user, [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                             "-w", "stop"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _as_user(user: str, command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as ``user`` (root drops to it; anyone else runs it as themselves)."""
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "LC_ALL": "C"}, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode:
        raise ClusterUnavailable(
            f"{Path(command[0]).name} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}")
    return result


def _ensure_user() -> str:
    """The user the server runs as: ``lumospg`` under root (created once), else ourselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=False, capture_output=True)
        try:
            pwd.getpwnam(PG_USER)
        except KeyError as exc:
            raise ClusterUnavailable(f"could not create the user {PG_USER} to run PostgreSQL "
                                     "as") from exc
    return PG_USER


def start_cluster(base: Path | None = None, keep: Path | None = None) -> Cluster:
    """Initialise and start a cluster; raises ``ClusterUnavailable`` saying why it cannot.

    ``keep``: a directory the cluster's data lives in across runs (the bench's bulk-loaded
    store): started again if it holds one, made there otherwise; ``Cluster.stop`` leaves it.
    """
    if not (PG_BIN / "initdb").exists():
        raise ClusterUnavailable(
            f"no PostgreSQL binaries in {PG_BIN} (apt-get install postgresql, or set LUMOS_PG_BIN)")
    user = _ensure_user()
    root = Path(tempfile.mkdtemp(prefix="lumos-pg-", dir=base))  # the socket (a short path)
    if keep is not None:
        keep = keep.resolve()
        keep.mkdir(parents=True, exist_ok=True)
    for folder in (root, keep):
        if folder is None:
            continue
        folder.chmod(0o755)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
    home = keep or root
    data = home / "data"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        _as_user(user, [str(PG_BIN / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
                        "-E", "UTF8", "--no-instructions"])
    for attempt in range(5):
        port = free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                   "-c shared_buffers=128MB")
        started = _as_user(user, [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                  "-l", str(home / "server.log"), "-w", "-t", "60", "start"],
                           check=False)
        if started.returncode == 0:
            return Cluster(root, port, user, data)
        if attempt == 4:
            log = (home / "server.log").read_text(errors="replace")[-800:]
            shutil.rmtree(root, ignore_errors=True)
            raise ClusterUnavailable(f"PostgreSQL did not start: {log}")
    raise AssertionError("unreachable")
