"""The probe's verdicts on catalog snapshots, without a server: the pure part of the probe."""

from __future__ import annotations

from dataclasses import replace

import pytest

from costdb.health.report import Report
from costdb.verify.catalog import Snapshot
from costdb.verify.checks import check_extensions, evaluate
from costdb.verify.manifest import load_manifest

MANIFEST = load_manifest()
EMPTY = Snapshot(False, False, {}, None, {}, {}, {}, {}, None)


@pytest.mark.parametrize(
    ("version", "missing"),
    [("0.8.0", ["0.8.2", "0.8.3", "0.8.4"]), ("0.8.3", ["0.8.4"]), ("0.8.4", []), ("0.8.6", [])],
)
def test_an_old_pgvector_is_a_warning_naming_the_missing_fixes(
    version: str, missing: list[str]
) -> None:
    (check,) = check_extensions(MANIFEST, replace(EMPTY, extensions={"vector": version}))
    assert check.status == ("warn" if missing else "pass")
    for fix in missing:
        assert f"{fix} (" in check.detail
    if missing:
        assert check.detail.startswith(f"vector {version} lacks the fixes of pgvector")


def test_a_warning_keeps_the_report_healthy_and_a_failure_does_not() -> None:
    checks = evaluate(MANIFEST, replace(EMPTY, extensions={"vector": "0.8.0"}), allow_replica=False)
    warnings = [check for check in checks if check.status == "warn"]
    assert [check.name for check in warnings] == ["extension:vector"]
    assert Report(warnings, 0.0).healthy
    assert not Report(checks, 0.0).healthy  # everything else is missing
