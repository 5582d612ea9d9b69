"""A pytest plugin for the canary (``-p tools.canary_warnings``): the warnings the tests raised, as JSON.

pytest's JUnit XML has no warnings, and a new warning under a nightly (a deprecation, a fallback)
is often the first sign of what the next release breaks. This records each warning pytest sees
through its public hook ``pytest_warning_recorded`` and writes them to the file named by
``$CANARY_WARNINGS`` when the session ends: a list of ``{"test", "category", "message", "where"}``,
one entry per distinct (category, message, where). Warnings printed by notebook kernels are not
seen here (nbval runs cells in a separate process).
"""

from __future__ import annotations

import json
import os

_seen: dict[tuple, dict] = {}


def pytest_warning_recorded(warning_message, when, nodeid, location):
    message = str(warning_message.message).strip().splitlines()[0][:300] if str(warning_message.message).strip() else ""
    where = f"{warning_message.filename}:{warning_message.lineno}"
    key = (warning_message.category.__name__, message, where)
    _seen.setdefault(key, {"test": nodeid or when, "category": key[0], "message": message, "where": where})


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CANARY_WARNINGS")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(list(_seen.values()), file, indent=1)
