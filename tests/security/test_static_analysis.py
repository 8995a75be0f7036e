"""bandit over the application: no medium or high finding (each exception is justified
inline with `# nosec` and a comment saying why)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bandit_reports_nothing_medium_or_high():
    bandit = shutil.which("bandit", path=str(Path(sys.executable).parent))
    if bandit is None:
        pytest.skip("bandit is not installed (it is in the dev extra)")
    result = subprocess.run([bandit, "-q", "-r", str(ROOT / "community"), "-ll", "-f", "json"],
                            capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "\n".join(findings)


def test_dependencies_are_pinned_with_both_bounds():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    loose = [r for r in requirements if not (">=" in r and "<" in r.replace("<=", "<"))]
    assert loose == []
