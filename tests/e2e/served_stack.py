"""``python -m local.stack serve`` (what ``make local`` runs) as a real process, on free ports.

Every port comes from the environment (:data:`local.stack.PORT_VARIABLES`), chosen free here, so
that a test can check each one is released when the process is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
from local.stack import DEFAULT_API_KEY, PORT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "mediajobs local stack ready:"
FINAL = {"succeeded", "failed", "cancelled"}


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on (bound together, so they differ)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` (as servers do, past closed connections)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # without SO_REUSEADDR a connection in TIME_WAIT (the kernel's, not the process's) counts
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ServedStack:
    """One ``local.stack serve`` process; its output goes to files the test reads."""

    def __init__(self) -> None:
        self.ports = dict(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES)), strict=True))
        environment = {k: v for k, v in os.environ.items() if k not in PORT_VARIABLES.values()}
        environment |= {PORT_VARIABLES[name]: str(port) for name, port in self.ports.items()}
        environment["PYTHONUNBUFFERED"] = "1"
        self._stdout: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.stack", "serve"],
            cwd=ROOT,
            env=environment,
            stdout=self._stdout,
            stderr=self._stderr,
        )
        self.api_url = f"http://127.0.0.1:{self.ports['api']}"

    def _read(self, stream: IO[bytes]) -> str:
        stream.seek(0)
        return stream.read().decode(errors="replace")

    @property
    def stdout(self) -> str:
        return self._read(self._stdout)

    @property
    def stderr(self) -> str:
        return self._read(self._stderr)

    def wait_port_open(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not port_is_open(self.ports["api"]):
            assert self.process.poll() is None, f"the stack exited: {self.stderr}"
            assert time.monotonic() < deadline, "the API port never opened"
            time.sleep(0.01)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.stdout:
            assert self.process.poll() is None, f"the stack exited: {self.stderr}"
            assert time.monotonic() < deadline, f"no ready line after {timeout}s: {self.stderr}"
            time.sleep(0.05)

    def client(self, api_key: str | None = DEFAULT_API_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30.0)

    def sandbox_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def sample_url(self) -> str:
        return f"{self.api_url}/samples/product.png"

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait_gone(self, timeout: float) -> tuple[int | None, list[int]]:
        """The exit code (None: still running) and the ports still taken, after at most ``timeout``."""
        deadline = time.monotonic() + timeout
        taken = list(self.ports.values())
        code: int | None = None
        while time.monotonic() < deadline:
            code = self.process.poll()
            taken = [port for port in self.ports.values() if not port_is_free(port)]
            if code is not None and not taken:
                break
            time.sleep(0.05)
        return code, taken

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._stdout.close()
        self._stderr.close()


@contextlib.contextmanager
def served_stack() -> Iterator[ServedStack]:
    served = ServedStack()
    try:
        yield served
    finally:
        served.close()


def job_bodies(image_url: str) -> list[dict[str, Any]]:
    """One job per provider, all on the stack's own sample image."""
    return [
        {
            "provider": "prodvisual",
            "product": {"image_url": image_url},
            "options": {"style": "lifestyle", "format": "png"},
        },
        {"provider": "creatify", "product": {"image_url": image_url}, "options": {"aspect_ratio": "9x16"}},
        {
            "provider": "jogg",
            "product": {
                "title": "Aurora Water Bottle",
                "description": "A 750 ml insulated bottle, cold for 24 hours.",
                "image_url": image_url,
            },
            "options": {"aspect_ratio": "portrait", "length": "15"},
        },
    ]


def wait_final(client: httpx.Client, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["status"] in FINAL:
            return job
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} not final after {timeout}s")
