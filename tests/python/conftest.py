"""Fixtures for the Python client tests: boot the real appconfigd binary on a free port with a
temporary SQLite database, and hand tests a boto3 client and an AWS CLI runner pointed at it.

The binary is `target/debug/appconfigd` (honours CARGO_TARGET_DIR; override with APPCONFIGD_BIN). `scripts/test` builds it
with `cargo test` before pytest runs; when it is missing or older than the sources it is built
here with `cargo build`.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"appconfigd listening on (https?://127\.0\.0\.1:\d+)")
START_TIMEOUT = 30
# What the server logs when a task holding a store transaction asks for another connection.
GUARD_TRIPPED = "already holds a store transaction"

# Credentials and region for every client; the server does not check signatures.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "y",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# What a server's own outbound AWS calls see: a closed endpoint and dummy credentials, so the
# child never reaches real AWS.
SANDBOX = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def answer_post(handler, received, status, body):
    """For an http.server handler's do_POST: records the JSON body in `received`, answers `status`
    with the JSON `body` (bytes)."""
    length = int(handler.headers.get("Content-Length") or 0)
    received.append(json.loads(handler.rfile.read(length) or b"{}"))
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)

def _newest_source_mtime():
    paths = [REPO / "Cargo.toml", REPO / "Cargo.lock"]
    for folder in ("src", "model"):
        paths.extend(p for p in (REPO / folder).rglob("*") if p.is_file())
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


@pytest.fixture(scope="session")
def appconfigd_bin():
    override = os.environ.get("APPCONFIGD_BIN")
    if override:
        return Path(override)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    binary = target / "debug" / "appconfigd"
    if not binary.exists() or binary.stat().st_mtime < _newest_source_mtime():
        subprocess.run(["cargo", "build", "--quiet", "--bin", "appconfigd"], cwd=REPO, check=True)
    assert binary.exists(), f"{binary} was not built"
    return binary


class Server:
    """One running appconfigd process."""

    def __init__(self, binary, workdir, extra_args=()):
        self.workdir = Path(workdir)
        self.log_path = self.workdir / "appconfigd.log"
        self._log = open(self.log_path, "wb")
        env = dict(os.environ)
        # The server reads these if set; make sure an outer environment cannot redirect it.
        for var in [v for v in env if v.startswith("APPCONFIGD_")]:
            del env[var]
        env["NO_COLOR"] = "1"
        # Nothing a test does may leave the machine: AWS targets go to a dead local port.
        for var in [v for v in env if v.startswith("AWS_")]:
            del env[var]
        env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
        self.proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                f"sqlite://{self.workdir / 'x.db'}",
                *extra_args,
            ],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self.endpoint = self._wait_for_endpoint()
        # Keep draining stdout so the server can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_endpoint(self):
        found = {}

        def read():
            for raw in self.proc.stdout:
                m = LISTENING.search(raw.decode("utf-8", "replace"))
                if m:
                    found["url"] = m.group(1)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if "url" not in found:
            self.stop()
            raise RuntimeError(
                f"appconfigd did not report its address within {START_TIMEOUT}s; "
                f"log:\n{self.log_path.read_text(errors='replace')}"
            )
        return found["url"]

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def client(self, service="appconfig"):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=Config(retries={"max_attempts": 1}),
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def start_server(appconfigd_bin, tmp_path_factory):
    """Factory for servers with a database of their own (stopped at session end).

    `extra_args` are passed to `appconfigd serve`, e.g. `("--quota-applications", "1")`.
    """
    servers = []

    def start(*extra_args):
        s = Server(appconfigd_bin, tmp_path_factory.mktemp("appconfigd"), extra_args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
    # The debug build's one-connection guard (src/store/guard.rs) panics inside the server;
    # any server that logged it fails the session.
    tripped = [s.log_path for s in servers
               if GUARD_TRIPPED in s.log_path.read_text(errors="replace")]
    if tripped:
        pytest.fail(f"a server broke the one-connection rule; see {tripped}")



@pytest.fixture(scope="module")
def fast_client(start_server):
    """A client of a server of the module's own, with SANDBOX in its environment and
    --time-scale 600 (1 strategy minute = 0.1 s)."""
    mp = pytest.MonkeyPatch()
    for k, v in SANDBOX.items():
        mp.setenv(k, v)
    try:
        server = start_server("--time-scale", "600")
    finally:
        mp.undo()
    return server.client()

@pytest.fixture(scope="session")
def server(start_server):
    """The shared server; tests use unique names so they do not see each other's resources."""
    return start_server()


@pytest.fixture(scope="session")
def endpoint(server):
    return server.endpoint


@pytest.fixture()
def client(server):
    return server.client()


@pytest.fixture()
def unique():
    """A fresh name prefix per test."""
    return f"py-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def aws_cli(endpoint, tmp_path_factory):
    """Runs `aws appconfig ...` against the server and returns the CompletedProcess."""
    aws = shutil.which("aws")
    if aws is not None:
        base = [aws]
    elif importlib.util.find_spec("awscli") is not None:
        # Installed for this interpreter but not on PATH (e.g. a pyenv shim not rehashed yet).
        base = [sys.executable, "-m", "awscli"]
    else:
        pytest.fail("the AWS CLI is not installed: python3 -m pip install awscli")
    home = tmp_path_factory.mktemp("awshome")
    env = dict(os.environ)
    # Isolate from any profile or config of the machine.
    for var in list(env):
        if var.startswith("AWS_"):
            del env[var]
    env.update(AWS_ENV)
    env.update(
        {
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": str(home),
        }
    )

    def run(*args, check=True):
        cmd = [*base, "appconfig", *args, "--endpoint-url", endpoint, "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc

    return run
