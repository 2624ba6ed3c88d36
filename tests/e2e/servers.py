"""Many local servers for the end-to-end suites: one process each, in its own process group, on its
own 127.0.0.1 port, started a few at a time and stopped together. A subclass says how to start one
(`command`); its output is kept as its log."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import harness

START_TIMEOUT = 60


def accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class Servers:
    """`apps` maps a name to what the subclass needs to serve it; after entering, `ports[name]` is
    where it serves and `log(name)` what it printed. `prefix` goes before each command (e.g.
    `taskset -c 0` for a benchmark)."""

    at_once = 8  # how many start together (each may compile a module as it starts)
    kind = "server"

    def __init__(self, apps: dict, prefix: list[str] | None = None) -> None:
        self.apps = apps
        self.prefix = prefix or []
        self.ports: dict[str, int] = {}
        self.processes: dict[str, subprocess.Popen] = {}
        self.dir: tempfile.TemporaryDirectory | None = None

    def command(self, name: str, port: int) -> tuple[list[str], dict[str, str]]:
        """The command that serves `name` on `port`, and its extra environment."""
        raise NotImplementedError

    def workdir(self, name: str) -> pathlib.Path:
        """Where `name`'s command runs (after `command` made it)."""
        return pathlib.Path(self.dir.name)

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory(prefix=f"corsguard-{self.kind}-")
        self.ports = dict(zip(self.apps, harness.free_ports(len(self.apps))))
        try:
            names = list(self.apps)
            for at in range(0, len(names), self.at_once):
                batch = names[at:at + self.at_once]
                for name in batch:
                    self.start(name)
                for name in batch:
                    self.wait(name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def path(self, name: str, suffix: str) -> pathlib.Path:
        return pathlib.Path(self.dir.name) / f"{name}.{suffix}"

    def start(self, name: str) -> None:
        argv, env = self.command(name, self.ports[name])
        with open(self.path(name, "log"), "wb") as log:
            self.processes[name] = subprocess.Popen(
                [*self.prefix, *argv], cwd=self.workdir(name), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=dict(os.environ, **env), start_new_session=True)

    def wait(self, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not accepting(self.ports[name]):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start {name}:\n{self.log(name)[-4000:]}")
            time.sleep(0.05)

    def log(self, name: str) -> str:
        return self.path(name, "log").read_text(errors="replace")

    def cpu_seconds(self, name: str) -> float:
        """CPU time used so far by one server (all its threads)."""
        fields = pathlib.Path(f"/proc/{self.processes[name].pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(5)
        self.processes.clear()
        if self.dir:
            self.dir.cleanup()
            self.dir = None
