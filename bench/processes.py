"""The subprocesses the bench starts, each stopped whatever happens: on success, on an error,
on Ctrl-C or SIGTERM, and (through the kernel's parent-death signal) even if the bench itself
is killed outright."""

import ctypes
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

_PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 15.0  # a profiled service needs a few seconds to write its profile


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def rss(self) -> int:
        return psutil.Process(self.process.pid).memory_info().rss


class ChildExited(RuntimeError):
    pass


class Children:
    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.running: list[Child] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        """Start ``argv``; ``env`` is laid over the children's environment for this one."""
        log = self.log_dir / f"{name}.log"
        # A fresh log per start.
        with log.open("wb") as out:
            # Its own session: a Ctrl-C in the terminal reaches the bench only, which then
            # stops each child in order (a profiled child must exit cleanly to write its profile).
            process = subprocess.Popen(
                argv,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, log)
        self.running.append(child)
        return child

    def check(self) -> None:
        """Raise if a child died: a phase waiting for its effects would otherwise time out."""
        for child in self.running:
            if child.process.poll() is not None:
                raise ChildExited(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")

    def stop(self, child: Child) -> None:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.running.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.running)):
            self.stop(child)

    def __enter__(self) -> "Children":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()


def python_argv(module: str, *args: str, profile_to: Path | None = None) -> list[str]:
    """``python -m module args``, under pyinstrument's sampling profiler when asked to."""
    if profile_to is None:
        return [sys.executable, "-m", module, *args]
    return [
        sys.executable,
        "-m",
        "pyinstrument",
        "--renderer",
        "text",
        "--outfile",
        str(profile_to),
        "-m",
        module,
        *args,
    ]
