"""A ``python -m healthcheck serve`` process on a free loopback port, for the tests."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import url_environment


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    port: int

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metrics(self) -> dict[str, float]:
        _, text = self.get("/metrics")
        return {
            sample.name
            + (f"[{','.join(sample.labels.values())}]" if sample.labels else ""): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def start_server(
    database: DatabaseSettings, *extra: str, probe_options: tuple[str, ...] = ()
) -> RunningServer:
    """``python -m healthcheck [probe_options] serve ... [extra]`` on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "healthcheck",
            *probe_options,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ],
        env=url_environment(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RunningServer(process, port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if server.get("/livez")[0] == 200:
                return server
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"health server did not start: {process.communicate()[0]}")
