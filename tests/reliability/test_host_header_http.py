"""Forged Host and X-Forwarded-Host over real HTTP: straight at gunicorn, and through
nginx run with the shipped deploy/nginx.conf (Debian's nginx; `make test` installs it).

Each forgery is sent four times at every cached page and feed (what used to poison the
anonymous cache), then ordinary readers fetch the same URLs: no answer may name the
forged host, and the absolute links name the configured address."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability.support import (
    ROOT, Client, Server, app_env, free_port, prepare_database, requires_gunicorn,
)

pytestmark = [requires_gunicorn, pytest.mark.reliability]

SITE = "community.example.org"
EVIL = "evil.example"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def urls(port: int) -> list[str]:
    response = Client(port).get("/api/v1/episodes", headers={"Host": SITE})
    slug = response.json()["episodes"][0]["slug"]
    return ["/", "/episodes/", f"/episodes/{slug}", "/papers/", "/questions/", "/guests/suggestions",
            "/feeds/episodes.atom", f"/episodes/{slug}/discussion.atom", "/questions/answered.atom",
            f"/episodes/{slug}/papers.md", "/api/v1/episodes"]


def site_server(tmp_path: Path) -> Server:
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'hosts.sqlite'}")
    env.update(PUBLIC_URL=f"https://{SITE}", TRUSTED_PROXIES="1")
    prepare_database(env, tmp_path)
    return Server(env, tmp_path / "gunicorn.log", workers=2)


def assert_clean_for_readers(port: int, paths: list[str]) -> None:
    for path in paths:
        for _ in range(2):  # a miss, then a hit
            response = Client(port).get(path, headers={"Host": SITE})
            assert response.status == 200, (path, response.status)
            assert EVIL not in response.text, path
            if path.endswith(".atom"):
                assert f"https://{SITE}/" in response.text, path


def test_forged_hosts_straight_at_gunicorn(tmp_path):
    server = site_server(tmp_path)
    # Ready means /healthz answers, on any host (a load balancer's check).
    server.start()
    try:
        paths = urls(server.port)
        forgeries = [{"Host": EVIL}, {"Host": f"{EVIL}:443"}, {"Host": SITE, "X-Forwarded-Host": EVIL}]
        for path in paths:
            for headers in forgeries:
                for _ in range(4):
                    response = Client(server.port).get(path, headers=headers)
                    assert response.status == 400 and EVIL not in response.text, (path, headers, response.status)
        assert_clean_for_readers(server.port, paths)
        assert not server.tracebacks()
    finally:
        server.stop()


def nginx_config(shipped: str, app_port: int, https_port: int, http_port: int, prefix: Path) -> str:
    """deploy/nginx.conf as shipped, with only what a test machine must change: addresses
    and ports on 127.0.0.1, plain HTTP instead of TLS, paths under a temporary prefix."""
    config = re.sub(r"(?m)^\s*server 10\.0\.0\.\d+:8000[^;]*;.*$", f"    server 127.0.0.1:{app_port};", shipped)
    config = re.sub(r"(?m)^\s*(ssl_certificate\S*|ssl_reject_handshake)\s.*$", "", config)
    config = re.sub(r"listen 443 ssl( http2)?", f"listen 127.0.0.1:{https_port}", config)
    config = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http_port}", config)
    config = config.replace("/srv/gi-community/static/", f"{ROOT / 'static'}/")
    temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\ndaemon off;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\naccess_log {prefix / 'access.log'};\n{temp}\n{config}\n}}\n")


def raw_get(port: int, path: str, headers: dict) -> tuple[int | None, str]:
    """(status, body), or (None, '') when nginx closes the connection without answering (444)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Connection": "close", **headers})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None, ""
    finally:
        connection.close()


@pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed (make test installs it with apt-get)")
def test_forged_hosts_through_the_shipped_nginx_config(tmp_path):
    server = site_server(tmp_path).start()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    https_port, http_port = free_port(), free_port()
    (prefix / "nginx.conf").write_text(nginx_config(
        (ROOT / "deploy" / "nginx.conf").read_text(), server.port, https_port, http_port, prefix))
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                if raw_get(https_port, "/healthz", {"Host": SITE})[0] == 200:
                    break
            except ConnectionRefusedError:  # not listening yet
                pass
            assert nginx.poll() is None, (prefix / "error.log").read_text()
            time.sleep(0.1)
        paths = urls(server.port)
        for path in paths:
            for _ in range(4):
                # Another Host: the default server drops the connection; nothing reaches the app.
                assert raw_get(https_port, path, {"Host": EVIL}) == (None, "")
                # X-Forwarded-Host from the client: nginx sets its own.
                status, body = raw_get(https_port, path, {"Host": SITE, "X-Forwarded-Host": EVIL})
                assert status == 200 and EVIL not in body, (path, status)
        for path in paths:
            status, body = raw_get(https_port, path, {"Host": SITE})
            assert status == 200 and EVIL not in body, path
            if path.endswith(".atom"):
                assert f"https://{SITE}/" in body
        # Plain HTTP: the site's name is redirected to HTTPS, any other name dropped.
        assert raw_get(http_port, "/", {"Host": EVIL}) == (None, "")
        assert raw_get(http_port, "/", {"Host": SITE})[0] == 301
        assert_clean_for_readers(server.port, paths)
        assert not server.tracebacks()
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        server.stop()
