"""Services never read the request (../shared/DESIGN.md): they take the acting user and
what the rule needs as arguments. import-linter sees modules, not names, so the names
that read one request's state are checked here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "community" / "services"
# What reads the current request: flask's request, session and g, and flask_login's current_user.
REQUEST_STATE = {"flask": {"request", "session", "g", "has_request_context"}, "flask_login": {"current_user"}}


def _reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in REQUEST_STATE:
            found += [f"l.{node.lineno}: from {node.module} import {alias.name}" for alias in node.names
                      if alias.name in REQUEST_STATE[node.module]]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.attr in REQUEST_STATE.get(node.value.id, ())):
            found.append(f"l.{node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(SERVICES.glob("*.py")), ids=lambda p: p.name)
def test_services_read_no_request_state(path):
    assert _reads(ast.parse(path.read_text("utf-8"))) == []


def test_the_check_sees_both_spellings():
    tree = ast.parse("from flask import current_app, request\nimport flask_login\nflask_login.current_user.id\n")
    assert _reads(tree) == ["l.1: from flask import request", "l.3: flask_login.current_user"]
