"""The hosted-CI workflows in .github/workflows/ (issue 18).

They cannot run from here (no hosted runner is reachable), so these tests read them: valid YAML,
the triggers, the commands, and the canary's artifact path against what tools/canary.py writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True: accept either spelling.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def runs(workflow: dict) -> list[str]:
    return [step["run"].strip() for step in steps(workflow) if "run" in step]


@pytest.mark.parametrize("name", ["ci.yml", "canary.yml"])
def test_each_workflow_checks_out_the_code_on_debian_as_the_course_machines_do(name):
    workflow = load(name)
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert re.fullmatch(r"python:3\.1[1-9]-bookworm", job["container"]), "Debian 12, root: make browser uses apt-get"
    assert steps(workflow)[0]["uses"].startswith("actions/checkout@")
    assert isinstance(job["timeout-minutes"], int)


def test_ci_runs_ci_run_on_every_push():
    workflow = load("ci.yml")
    assert "push" in workflow["on"] and workflow["on"]["push"] in (None, {})  # every branch, every push
    assert runs(workflow) == ["bash .ci/run"]
    assert (ROOT / ".ci" / "run").exists()
    (job,) = workflow["jobs"].values()
    assert job["timeout-minutes"] * 60 >= 20 * 60  # .ci/run must stay under 20 minutes on 2 cores


def test_the_canary_runs_weekly_and_on_demand_and_keeps_its_report():
    workflow = load("canary.yml")
    triggers = workflow["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}, "never on push: nightlies change every day"
    (cron,) = [entry["cron"] for entry in triggers["schedule"]]
    minute, hour, day_of_month, month, day_of_week = cron.split()
    assert (day_of_month, month) == ("*", "*") and re.fullmatch(r"[0-6]", day_of_week), f"weekly: {cron}"
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24

    assert runs(workflow) == ["make test-canary"]
    upload = [step for step in steps(workflow) if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and upload[0]["if"] == "always()", "the report must be kept when the run fails too"

    import importlib.util

    spec = importlib.util.spec_from_file_location("canary", ROOT / "tools" / "canary.py")
    canary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(canary)
    assert upload[0]["with"]["path"].rstrip("/") == canary.REPORT_DIR.relative_to(ROOT).as_posix()


def test_the_makefile_has_the_target_the_canary_workflow_runs_and_ci_does_not():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test-canary:", makefile, re.MULTILINE)
    assert "canary" not in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
