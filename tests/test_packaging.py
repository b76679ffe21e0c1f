"""``pip install .`` gives a working ``plenary``: the wheel carries every module, the wire
schemas, the migrations and built client assets, and the command runs from the installed
copy alone (not from this checkout).

The wheel is built offline (``--no-build-isolation`` uses the setuptools and wheel of the
dev extras) from a copy of the source tree, so the checkout gets no build/ directory, and
is installed with ``--target`` into a directory put first on PYTHONPATH; its dependencies
come from this environment.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .support.wsclient import Client

REPO = Path(__file__).resolve().parent.parent
# Fake built client assets, put into the copy when the checkout has none, to prove that
# whatever the client build leaves in server/static travels in the wheel and is served.
INDEX_HTML = "<!doctype html><title>plenary packaging test</title>"
ASSET = "assets/app-packagingtest.js"

pytestmark = pytest.mark.timeout(600)


@dataclass
class Installed:
    wheel: Path
    site: Path  # the --target directory
    script: Path  # its ``plenary`` command
    static_from_checkout: bool

    def env(self, workdir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLENARY_")}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.site), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env.update(PLENARY_DATA_DIR=str(workdir / "data"), PLENARY_SECRET="packaging-test")
        env.update(extra)
        return env

    def run(self, args: list[str], workdir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            args,
            cwd=workdir,
            env=self.env(workdir, **extra),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result


def _copy_source(dest: Path) -> bool:
    """The checkout as ``pip install .`` sees it, without caches, venvs and VCS data.
    True if it has built client assets of its own."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "__pycache__", "*.pyc", "build", "dist",
        "*.egg-info", ".data", "data", ".pytest_cache", ".mypy_cache", ".ruff_cache",
        "tests", "bench", "client",
    )  # fmt: skip
    shutil.copytree(REPO, dest, symlinks=True, ignore=ignore)
    static = dest / "server" / "static"
    if (static / "index.html").exists():
        return True
    (static / "assets").mkdir(parents=True, exist_ok=True)
    (static / "index.html").write_text(INDEX_HTML)
    (static / ASSET).write_text("console.log('plenary');\n")
    return False


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("packaging")
    src, wheels, site = tmp / "src", tmp / "wheels", tmp / "site"
    from_checkout = _copy_source(src)
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(src)],
        capture_output=True, text=True, timeout=300, env=offline,
    )  # fmt: skip
    assert build.returncode == 0, f"building the wheel failed:\n{build.stdout}\n{build.stderr}"
    (wheel,) = wheels.glob("plenary-*.whl")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
         "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300, env=offline,
    )  # fmt: skip
    assert install.returncode == 0, f"installing the wheel failed:\n{install.stderr}"
    yield Installed(wheel, site, site / "bin" / "plenary", from_checkout)


def test_wheel_carries_modules_schemas_migrations_and_assets(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        # Every module of the source tree (the package list in pyproject is by hand).
        modules = {
            "plenary/" + path.relative_to(REPO / "server").as_posix()
            for path in (REPO / "server").rglob("*.py")
            if "__pycache__" not in path.parts
        }
        assert modules - names == set()
        for schema in ("protocol.json", "http.json"):
            # A copy of the top-level schema, not a dangling symlink.
            packed = wheel.read(f"plenary/schemas/{schema}")
            assert packed == (REPO / "schemas" / schema).read_bytes()
        migrations = {
            "plenary/migrations/env.py",
            "plenary/migrations/script.py.mako",
            *(
                "plenary/migrations/versions/" + p.name
                for p in (REPO / "server" / "migrations" / "versions").glob("*.py")
            ),
        }
        assert migrations - names == set()
        assert "plenary/py.typed" in names
        assert "plenary/static/index.html" in names
        if not installed.static_from_checkout:
            assert f"plenary/static/{ASSET}" in names
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "plenary = plenary.cli:main" in wheel.read(entry_points).decode()


def test_installed_copy_is_the_one_imported(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import plenary, plenary.db.migrate as m, plenary.web.client as c;"
        "from plenary.protocol.schema import server_validators;"
        "print(plenary.__file__); print(m.MIGRATIONS); print(c.client_dir());"
        "print(len(server_validators()))"
    )
    out = installed.run([sys.executable, "-c", probe], tmp_path).stdout.split("\n")
    package, migrations, client, validators = out[:4]
    print("imported from:", package)  # shown with -s, and in the report on failure
    site = installed.site.resolve()
    assert Path(package).resolve().is_relative_to(site), package
    assert Path(migrations).resolve().is_relative_to(site), migrations
    assert (Path(migrations) / "versions").is_dir()
    assert Path(client).resolve() == site / "plenary" / "static"
    assert int(validators) > 0


def test_installed_command_settings_and_migrate(installed: Installed, tmp_path: Path) -> None:
    assert installed.script.exists(), sorted(p.name for p in installed.site.iterdir())
    settings = installed.run([str(installed.script), "settings"], tmp_path)
    assert "DATABASE_URL=" in settings.stdout and "PLENARY_TICK_MS=" in settings.stdout
    database = tmp_path / "db" / "plenary.sqlite3"
    migrate = installed.run(
        [str(installed.script), "migrate"], tmp_path, DATABASE_URL=f"sqlite:///{database}"
    )
    assert "database at revision 0001" in migrate.stdout, migrate.stdout
    assert database.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(
    installed: Installed, workdir: Path, port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(installed.script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=installed.env(workdir, PLENARY_LOG_LEVEL="warning"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_installed_command_serves(installed: Installed, tmp_path: Path) -> None:
    """``plenary serve`` from the installed copy: migrates its SQLite file on start,
    creates an event (HTTP schema), serves the built client, speaks the websocket
    protocol."""
    port = _free_port()
    log_path = tmp_path / "serve.log"
    proc = _serve(installed, tmp_path, port, log_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            created = await http.post("/api/events", json={"title": "Packaged", "groups": []})
            assert created.status_code == 201, created.text
            page = await http.get("/")
            assert page.status_code == 200
            if not installed.static_from_checkout:
                assert page.text == INDEX_HTML
                asset = await http.get(f"/{ASSET}")
                assert asset.status_code == 200, asset.text
            client = await Client(
                f"ws://127.0.0.1:{port}/ws", created.json()["facilitator_token"]
            ).connect()
            try:
                await client.wait_for_seq(1)
                assert client.ops[0]["kind"] == "event.created"
            finally:
                await client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)
    assert (tmp_path / "data" / "plenary.sqlite3").exists()
