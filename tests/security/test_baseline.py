"""Security baseline: headers on every page, CSRF refusal, cookie flags."""

from __future__ import annotations

import pytest


def test_security_headers_on_pages(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_security_headers_on_error_pages(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("path, data", [
    ("/auth/register", {"username": "mallory", "email": "m@example.org",
                        "password": "a long and unusual passphrase", "confirm": "a long and unusual passphrase"}),
    ("/auth/login", {"login": "mallory", "password": "whatever it is"}),
    ("/auth/reset", {"email": "m@example.org"}),
])
def test_post_without_csrf_token_is_refused(client, path, data):
    response = client.post(path, data=data, csrf=False)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_logout_without_csrf_keeps_the_session(client, factories, login):
    login(factories.user("grace"))
    response = client.post("/auth/logout", csrf=False)
    assert response.status_code == 400
    assert client.get("/settings/profile").status_code == 200


def test_session_cookie_flags(client, factories):
    factories.user("grace")
    response = client.post("/auth/login", data={"login": "grace", "password": factories.PASSWORD})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_app_refuses_to_start_without_secret_key_in_production(monkeypatch, tmp_path):
    from community import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
