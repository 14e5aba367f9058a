"""Child processes of a fault run: started, killed and stopped by their own process ids only.

Every child runs in a session of its own, so a Ctrl-C in the terminal reaches the harness alone
(which then stops everything in order) and a whole child group can be killed by its id. The
kernel also signals each child when the harness dies without cleaning up (SIGKILL, a test
timeout), so a broken run leaves no services, broker or cluster behind.
"""

import asyncio
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _signal_on_parent_death(sig: signal.Signals) -> Callable[[], None]:
    # Looked up here: between fork and exec the child should do as little as possible.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        # Runs in the child after it changed user: a change of user clears this setting.
        prctl(_PR_SET_PDEATHSIG, int(sig))

    return preexec


class Child:
    """One process the harness owns, restartable with the same command line."""

    def __init__(self, name: str, argv: list[str], *, log_dir: Path, env: dict[str, str] | None = None,
                 user: str | None = None, cwd: Path | None = None,
                 stop_signal: signal.Signals = signal.SIGTERM,
                 orphan_signal: signal.Signals = signal.SIGKILL) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.user = user
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.orphan_signal = orphan_signal
        self.log_dir = log_dir
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The log of the current (or last) start: each start gets a file of its own."""
        return self.log_dir / f"{self.name}.{self.starts}.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        """Start it; ``extra_env`` applies to this start only (a crash point armed, say)."""
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        env = {**(self.env or os.environ), **extra_env} if extra_env else self.env
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, user=self.user, group=self.user,
                extra_groups=[] if self.user else None,
                preexec_fn=_signal_on_parent_death(self.orphan_signal),
            )

    def kill(self) -> None:
        """kill -9 of the process itself (not its group): the crash under test."""
        assert self.proc is not None and self.running, f"{self.name} is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.running:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """Ask it to stop; after ``timeout`` kill its whole process group. Blocking on purpose:
        it also runs while the harness unwinds from an error or Ctrl-C."""
        if self.proc is None:
            return
        if self.running:
            os.kill(self.proc.pid, self.stop_signal)
            os.kill(self.proc.pid, signal.SIGCONT)  # a frozen process would not see the signal
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    async def wait_exit(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.running:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still running after {timeout:.0f}s")
            await asyncio.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
