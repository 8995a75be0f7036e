"""Static files are named by their content: a changed CSS file gets a new URL, and a URL
that names the current content may be kept for a year."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import make_test_app, reset_database


def _css_url(client) -> str:
    return re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', client.get("/auth/login").get_data(as_text=True)).group(1)


def test_pages_link_static_files_by_content_and_those_urls_are_immutable(client):
    url = _css_url(client)
    response = client.get(url)
    assert response.status_code == 200 and b"body" in response.data
    assert response.headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]


def test_an_old_or_bare_url_still_answers_but_is_not_kept(client):
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
        assert len(response.headers.get_all("Cache-Control")) <= 1


@pytest.mark.parametrize("debug", [False, True])
def test_a_changed_css_file_gets_a_new_url(tmp_path, database, debug):
    """With a copy of static/ whose CSS changes: a new process (a deploy) links the new
    content; with the debugger on, the running process does too."""
    from community import ROOT

    static = tmp_path / "static"
    shutil.copytree(ROOT / "static", static)
    app = make_test_app(database, tmp_path, DEBUG=debug)
    app.static_folder = str(static)
    app.debug = debug
    reset_database(app, database)
    before = _css_url(app.test_client())
    (static / "css" / "site.css").write_text((static / "css" / "site.css").read_text() + "\n.changed { color: red; }\n")
    if not debug:
        app = make_test_app(database, tmp_path)  # the next release's process
        app.static_folder = str(static)
    after = _css_url(app.test_client())
    assert before != after
    assert b".changed" in app.test_client().get(after).data
