"""The Deno edge for end-to-end suites: the npm package (built by npm/build.sh, packed and installed
from its tarball as a user installs it) under real Deno (npm's `deno` package, pinned), serving the
examples of examples/ on 127.0.0.1, each app in its own copy of its example with its own policy."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import harness
import servers

ROOT = harness.ROOT
DENO = ROOT / "node_modules" / ".bin" / "deno"
PACKAGE = ROOT / "npm" / "pkg"
DRIVERS = pathlib.Path(__file__).with_name("deno")
TOOLS = [DENO, ROOT / ".tools" / "bin" / "wasm-bindgen", ROOT / "node_modules" / ".bin" / "wasm-opt"]
# Offline, and nothing of the machine's own Deno state: every app gets exactly what the tarball holds.
ENV = {"DENO_NO_UPDATE_CHECK": "1", "NO_COLOR": "1"}


def missing() -> list[str]:
    """What is not installed (scripts/setup.sh node installs Deno, portable the package's tools)."""
    return [str(path.relative_to(ROOT)) for path in TOOLS if not path.exists()]


def run(argv: list[str], cwd: pathlib.Path, timeout: float = 600) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **ENV))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


class Project:
    """A Deno project with the packed package installed in its node_modules (what `npm install
    corsguard` gives), which every app links to."""

    def __enter__(self) -> "Project":
        self.dir = tempfile.TemporaryDirectory(prefix="corsguard-deno-project-")
        self.root = pathlib.Path(self.dir.name)
        run(["bash", str(ROOT / "npm" / "build.sh")], ROOT)
        tarball = run(["npm", "pack", "--pack-destination", str(self.root), "--loglevel=error"], PACKAGE).split()[-1]
        (self.root / "package.json").write_text('{ "private": true, "type": "module" }\n')
        run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", f"./{tarball}"], self.root)
        (self.root / "deno-dir").mkdir()
        return self

    def app(self, example: str, policy: str, into: pathlib.Path) -> pathlib.Path:
        """A copy of examples/`example` (the drivers of tests/e2e/deno beside it) with `policy` as
        its policy.json, linked to the installed package."""
        shutil.copytree(ROOT / "examples" / example, into, symlinks=False)
        for driver in DRIVERS.iterdir():
            shutil.copy(driver, into / driver.name)
        (into / "policy.json").write_text(policy)
        shutil.copy(self.root / "package.json", into / "package.json")
        (into / "node_modules").symlink_to(self.root / "node_modules")
        return into

    def deno(self, *args: str, cwd: pathlib.Path, timeout: float = 120, input: str | None = None
             ) -> subprocess.CompletedProcess:
        return subprocess.run([str(DENO), *args], cwd=cwd, input=input, capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, **ENV, DENO_DIR=str(self.root / "deno-dir")))

    def __exit__(self, *exc) -> None:
        self.dir.cleanup()


@dataclasses.dataclass
class App:
    """One app: an example of examples/, run by `entry` (a file of the example or a driver of
    tests/e2e/deno), with `policy` (an object, or a policy file's text), `upstream` (a URL) and
    `timeout` (UPSTREAM_TIMEOUT)."""
    example: str
    entry: str
    policy: dict | str
    upstream: str = ""
    serve: bool = True  # `deno serve` (a default export); else `deno run` with the Supabase driver
    timeout: str | None = None  # UPSTREAM_TIMEOUT, if set


class Denos(servers.Servers):
    """Many apps, each in its own real Deno."""

    kind = "deno"

    def __init__(self, project: Project, apps: dict[str, App]) -> None:
        super().__init__(apps)
        self.project = project

    def command(self, name: str, port: int) -> tuple[list[str], dict[str, str]]:
        app = self.apps[name]
        text = app.policy if isinstance(app.policy, str) else json.dumps(app.policy)
        root = self.project.app(app.example, text, self.workdir(name))
        allow = ["--allow-net=127.0.0.1", "--allow-env=UPSTREAM,UPSTREAM_TIMEOUT,PORT", "--cached-only"]
        if app.serve:
            argv = [str(DENO), "serve", "--host", "127.0.0.1", "--port", str(port), *allow, str(root / app.entry)]
        else:
            argv = [str(DENO), "run", *allow, "--preload", str(root / "supabase_listen.ts"), str(root / app.entry)]
        timeout = {} if app.timeout is None else {"UPSTREAM_TIMEOUT": app.timeout}
        return argv, dict(ENV, DENO_DIR=str(self.project.root / "deno-dir"), UPSTREAM=app.upstream, PORT=str(port),
                          **timeout)

    def workdir(self, name: str) -> pathlib.Path:
        return pathlib.Path(self.dir.name) / name
