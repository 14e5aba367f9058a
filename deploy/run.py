"""`make run`: prepare, then start the SMTP sink, the three services and nginx as one address.
Ctrl-C (or SIGTERM) stops everything it started.

    python -m deploy.run [--no-demo]
"""

import argparse
import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg

from deploy import survey_demo
from deploy.proxy import write_nginx_config
from deploy.stack import SERVICES, prepare
from services.engagement import demo
from shared.settings import Settings, get_settings

RUN_DIR = Path(os.environ.get("CIVIC_RUN_DIR", ".run")).resolve()


# A child that crashes is started again, unless it keeps crashing: then everything stops.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


class Launcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.argv: dict[str, list[str]] = {}
        self.restarts: dict[str, list[float]] = {}
        self.stopping = False

    def start(self, name: str, argv: list[str]) -> None:
        with (RUN_DIR / "logs" / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.children.append((name, proc))
        self.argv[name] = argv

    def start_all(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise SystemExit(
                "nginx is missing: install it with `apt-get install -y nginx` (make run does this as root)"
            )
        (RUN_DIR / "logs").mkdir(parents=True, exist_ok=True)
        # No mkdir of mail/: the sink's Maildir makes its cur/new/tmp only when it makes the folder.
        s = self.settings
        self.start(
            "smtp",
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"{s.smtp_host}:{s.smtp_port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(RUN_DIR / "mail"),
            ],
        )
        # The caught-mail page of notifications lists this sink's folder; only set here, for the demo sink.
        os.environ.setdefault("CIVIC_MAIL_SINK_DIR", str(RUN_DIR / "mail"))
        for spec in SERVICES:
            self.start(spec.name, [sys.executable, "-m", f"services.{spec.name}", "run"])
        prefix = RUN_DIR / "nginx"
        conf = write_nginx_config(SERVICES, s, prefix)
        self.start("nginx", [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"])
        print("started: " + ", ".join(f"{n} (pid {p.pid})" for n, p in self.children), flush=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = [spec.name for spec in SERVICES]
        while pending:
            self.check_children()
            name = pending[0]
            try:
                with urllib.request.urlopen(f"{self.address}{name}/readyz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} not ready after {timeout:.0f}s; see {RUN_DIR}/logs/{name}.log")
            time.sleep(0.2)

    @property
    def address(self) -> str:
        return f"http://{self.settings.host}:{self.settings.proxy_port}/"

    def check_children(self) -> None:
        for name, proc in list(self.children):
            if proc.poll() is None or self.stopping:
                continue
            now = time.monotonic()
            recent = [t for t in self.restarts.get(name, []) if now - t < RESTART_WINDOW_S]
            if len(recent) >= MAX_RESTARTS:
                raise SystemExit(
                    f"{name} exited {MAX_RESTARTS} times within {RESTART_WINDOW_S:.0f}s "
                    f"(last code {proc.returncode}); see {RUN_DIR}/logs/{name}.log"
                )
            self.restarts[name] = [*recent, now]
            self.children.remove((name, proc))
            self.start(name, self.argv[name])
            print(
                f"{name} exited with {proc.returncode}; started again (pid {self.children[-1][1].pid})",
                flush=True,
            )

    def stop(self) -> None:
        self.stopping = True
        for name, proc in self.children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def listening_pid(port: int) -> tuple[int, str] | None:
    """The process listening on a TCP port and its command line, read from /proc; None when
    it cannot be found (another user's process, seen without root)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{inode}]")
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                if os.readlink(fd) in inodes:
                    argv = (fd_dir.parent / "cmdline").read_bytes().split(b"\0")
                    return int(fd_dir.parent.name), " ".join(a.decode(errors="replace") for a in argv if a)
    return None


def refuse_taken_ports(settings: Settings) -> None:
    """Stop at once when a port the platform listens on is taken (most often by a `make run`
    already up), naming the port and what holds it, before anything is prepared or started."""
    wanted = [("proxy", settings.host, settings.proxy_port), ("smtp", settings.smtp_host, settings.smtp_port)]
    wanted += [(spec.name, settings.host, settings.port_of(spec.name)) for spec in SERVICES]
    for name, host, port in wanted:
        with socket.socket() as probe:
            # As the servers bind (SO_REUSEADDR): a port in TIME_WAIT is free, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                continue
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        holder = listening_pid(port)
        by = f"pid {holder[0]} ({holder[1]})" if holder else "a process this user cannot see"
        raise SystemExit(
            f"make run: port {port} on {host} ({name}) is taken by {by}.\n"
            f"Is the platform already running? Stop that one (Ctrl-C where it runs, or "
            f"kill {holder[0] if holder else 'PID'}), or choose another port with CIVIC_{name.upper()}_PORT."
        )


def demo_admin(settings: Settings) -> str:
    """Give the demo's admin a new password, kept in the run folder (readable by its owner only);
    how to sign in, for the launcher's greeting."""

    async def reset(password: str) -> None:
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "engagement"})
        try:
            await demo.load_admin(conn, password)
        finally:
            await conn.close()

    password = secrets.token_urlsafe(15)
    asyncio.run(reset(password))
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    kept = RUN_DIR / "demo-admin.txt"
    kept.touch(mode=0o600)
    kept.chmod(0o600)
    kept.write_text(f"{demo.DEMO_ADMIN_EMAIL}\n{password}\n")
    return (
        f"Sign in at {settings.public_base_url}/login as {demo.DEMO_ADMIN_EMAIL}; "
        f"the password is in {kept} (new each run).\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.run")
    parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
    args = parser.parse_args()
    settings = get_settings()
    refuse_taken_ports(settings)
    prepared = asyncio.run(prepare(settings, demo_data=not args.no_demo))
    print(f"prepared: {prepared}", flush=True)
    sign_in = "" if args.no_demo else demo_admin(settings)

    launcher = Launcher(settings)
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        launcher.start_all()
        launcher.wait_ready()
        if not args.no_demo:
            print(f"demo survey responses loaded: {asyncio.run(survey_demo.load(settings))}", flush=True)
        print(
            f"\nThe platform is up. Open {launcher.address}\n{sign_in}"
            f"Logs in {RUN_DIR}/logs, mail caught by the SMTP sink in {RUN_DIR}/mail. Ctrl-C stops it.",
            flush=True,
        )
        while not stop_requested:
            launcher.check_children()
            time.sleep(0.3)
    finally:
        launcher.stop()
        print("stopped everything started by make run", flush=True)


if __name__ == "__main__":
    main()
