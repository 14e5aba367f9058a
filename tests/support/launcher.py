"""Starting the platform as `make run` does, in a subprocess with settings of a test's own."""

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from shared.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(settings: Settings, run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    for name, value in settings.model_dump().items():
        env[f"CIVIC_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    env["CIVIC_RETRY_DELAYS_MS"] = str(settings.retry_delays_ms)
    env["CIVIC_RUN_DIR"] = str(run_dir)
    return env


async def read_until(
    stream: asyncio.StreamReader, pattern: str, seen: list[str], timeout: float = 120
) -> str:
    async with asyncio.timeout(timeout):
        while line := (await stream.readline()).decode():
            seen.append(line)
            if re.search(pattern, line):
                return line
    raise AssertionError(f"launcher ended before printing {pattern!r}:\n{''.join(seen)}")


async def start_platform(settings: Settings, run_dir: Path, *args: str) -> asyncio.subprocess.Process:
    """``python -m deploy.run`` with ``settings``; its output (stdout and stderr) is piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.run",
        *args,
        env=environment(settings, run_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
