"""A PostgreSQL cluster and a RabbitMQ node of the fault run's own, on ports picked at run time,
so restarting them never touches the machine's PostgreSQL (5432) or RabbitMQ (5672)."""

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import asyncpg

from bench.faults.children import Child
from shared.bus import BROKER_ERRORS
from shared.db import CONNECTION_ERRORS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _owned_dir(path: Path, user: str) -> Path:
    path.mkdir(mode=0o700)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


async def _wait_until(child: Child, probe: Callable[[], Awaitable[None]],
                      errors: tuple[type[BaseException], ...], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not child.running:
            raise RuntimeError(f"{child.name} exited while starting:\n{child.log_tail()}")
        try:
            await probe()
            return
        except errors:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{child.name} not ready after {timeout:.0f}s:\n{child.log_tail()}") from None
            await asyncio.sleep(0.2)


class PrivatePostgres:
    def __init__(self, root: Path, log_dir: Path) -> None:
        self.port = free_port()
        self.data = root / "pgdata"
        self.sockets = root / "pgsocket"
        bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
        self.initdb = bin_dir / "initdb"
        self.child = Child(
            "postgres",
            [str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.sockets}"],
            log_dir=log_dir, user="postgres",
            stop_signal=signal.SIGINT,  # "fast" shutdown
            orphan_signal=signal.SIGQUIT,  # "immediate": the postmaster takes its backends with it
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def create(self) -> None:
        _owned_dir(self.data, "postgres")
        _owned_dir(self.sockets, "postgres")
        initdb = await asyncio.create_subprocess_exec(
            str(self.initdb), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
            "-E", "UTF8", "--locale=C.UTF-8", user="postgres", group="postgres", extra_groups=[],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await initdb.communicate()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{output.decode(errors='replace')}")
        await self.start()

    async def start(self) -> None:
        self.child.start()

        async def probe() -> None:
            conn = await asyncpg.connect(self.url(), timeout=2)
            await conn.close()

        await _wait_until(self.child, probe, CONNECTION_ERRORS, timeout=60)

    async def crash(self) -> None:
        """Immediate shutdown: no checkpoint, every connection cut, crash recovery on start."""
        self.child.signal(signal.SIGQUIT)
        await self.child.wait_exit(timeout=30)


class PrivateRabbit:
    def __init__(self, root: Path, log_dir: Path) -> None:
        self.port = free_port()
        dist_port = free_port()
        self.dir = _owned_dir(root / "rabbitmq", "rabbitmq")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        # An empty env file of our own: the machine's rabbitmq-env.conf pins the node name.
        (self.dir / "rabbitmq-env.conf").write_text("")
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": "/var/lib/rabbitmq",  # its Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_NODENAME": f"civic-faults-{self.port}@localhost",
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.child = Child("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env, cwd=self.dir,
                           log_dir=log_dir, user="rabbitmq",
                           # Its start script turns SIGTERM into an orderly stop of the node.
                           orphan_signal=signal.SIGTERM)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self.child.start()

        async def probe() -> None:
            connection = await aio_pika.connect(self.url, timeout=2)
            await connection.close()

        await _wait_until(self.child, probe, (*BROKER_ERRORS, OSError), timeout=90)

    async def stop(self) -> None:
        """An orderly stop, as a restart by an operator would do."""
        self.child.signal(signal.SIGTERM)
        await self.child.wait_exit(timeout=90)


@dataclass(frozen=True)
class Infra:
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    root: Path
    log_dir: Path


@contextlib.asynccontextmanager
async def private_infra(log_dir: Path | None = None) -> AsyncIterator[Infra]:
    """Start both; on the way out (error and Ctrl-C included) stop them and remove their files."""
    root = Path(tempfile.mkdtemp(prefix="civic-faults-"))
    root.chmod(0o711)  # the postgres and rabbitmq users must reach their folders inside
    logs = log_dir or root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    postgres = PrivatePostgres(root, logs)
    rabbit = PrivateRabbit(root, logs)
    try:
        async with asyncio.TaskGroup() as starting:
            starting.create_task(postgres.create())
            starting.create_task(rabbit.start())
        yield Infra(postgres, rabbit, root, logs)
    finally:
        rabbit.child.stop(timeout=60)
        postgres.child.stop(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
