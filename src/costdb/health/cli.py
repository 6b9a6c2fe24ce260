"""``python -m healthcheck``: exit 0 healthy, 1 unhealthy, 2 misconfigured.

argparse (the standard library's CLI parser) rather than click: the probe's start-up time is
a product feature (it is compared against ``pg_isready``), and every import counts.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from functools import partial

from costdb import defaults
from costdb.errors import ConfigError
from costdb.exit_codes import ExitCode
from costdb.health.one_shot import read_once
from costdb.health.report import Report, failed_report, judge
from costdb.health.server_certificate import certificate_expiry
from costdb.settings import DatabaseSettings, load_settings
from costdb.verify.manifest import Manifest, load_manifest


def _positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {raw!r}")
    return value


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Is the costdb schema there, complete and usable? "
        "Exit 0 healthy, 1 unhealthy, 2 misconfigured.",
    )
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=defaults.HEALTH_TIMEOUT_SECONDS,
        help="bound on the whole probe, connect and queries (seconds, default %(default)g)",
    )
    parser.add_argument(
        "--allow-replica", action="store_true", help="accept a hot standby as healthy"
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve /livez, /readyz and /metrics over HTTP")
    serve.add_argument(
        "--host", default=defaults.HEALTH_HOST, help="address to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=defaults.HEALTH_PORT, help="port (default %(default)s)"
    )
    serve.add_argument(
        "--details",
        action="store_true",
        help="show every check's detail in /readyz (role, host, versions, schema inventory); "
        "by default only failing checks have details",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_positive_seconds,
        default=defaults.HEALTH_IDLE_SECONDS,
        help="close a connection idle this long (keep-alive clients, slowloris; "
        "default %(default)g)",
    )
    serve.add_argument(
        "--cache-seconds",
        type=_positive_seconds,
        default=defaults.HEALTH_CACHE_SECONDS,
        help="reuse a probe result this long: the most checks the database sees "
        "(default %(default)g)",
    )
    return parser


def _probe_within(
    settings: DatabaseSettings, manifest: Manifest, timeout: float, *, allow_replica: bool
) -> Report:
    """Run the probe in a worker thread and give up at the deadline, whatever it is doing."""
    outcome: list[Report] = []

    def run() -> None:
        read = partial(read_once, settings, timeout)
        expiry = partial(certificate_expiry, settings, timeout)
        outcome.append(
            judge(read, settings, manifest, allow_replica=allow_replica, server_certificate=expiry)
        )

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout)
    if outcome:
        return outcome[0]
    detail = f"no answer within the {timeout:g} s timeout"
    return failed_report(manifest, detail, started, misconfigured=False)


def _print(report: Report, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(report.json_body.decode())
        return
    if report.healthy:
        passed = {check.name.split(":")[0] for check in report.checks}
        print(
            f"healthy: {len(report.checks)} checks passed ({', '.join(sorted(passed))}) "
            f"in {report.duration_seconds * 1000:.0f} ms"
        )
        for check in report.warnings():
            print(f"warning: {check.detail}")
        return
    for check in report.failures():
        print(f"{report.status}: {check.detail}")


def _serve(arguments: argparse.Namespace, settings: DatabaseSettings, manifest: Manifest) -> None:
    # The server's modules (psycopg, prometheus-client) cost the CLI probe nothing.
    from costdb.health.kept_connection import KeptConnectionProber  # noqa: PLC0415
    from costdb.health.server import ServerOptions, run_server  # noqa: PLC0415

    prober = KeptConnectionProber(
        settings, manifest, timeout=arguments.timeout, allow_replica=arguments.allow_replica
    )
    options = ServerOptions(
        host=arguments.host,
        port=arguments.port,
        cache_seconds=arguments.cache_seconds,
        timeout=arguments.timeout,
        details=arguments.details,
        idle_seconds=arguments.idle_timeout,
    )
    try:
        run_server(prober, options)
    except ConfigError as exc:
        print(f"healthcheck: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


def main(argv: Sequence[str] | None = None, prog: str = "python -m healthcheck") -> None:
    """Probe once (exit code) or serve over HTTP, as the arguments say."""
    arguments = _parser(prog).parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"healthcheck: error: {exc}", file=sys.stderr)
        sys.exit(ExitCode.MISCONFIGURED)
    manifest = load_manifest()
    if arguments.command == "serve":
        _serve(arguments, settings, manifest)
        return
    report = _probe_within(
        settings, manifest, arguments.timeout, allow_replica=arguments.allow_replica
    )
    _print(report, as_json=arguments.json)
    sys.exit(report.exit_code)
