"""The site's own address, enforced before anything else runs.

A request is refused (400) unless its Host names the configured address (or an alias),
before the page cache or Flask sees it; an accepted one is then answered as if it had
been sent to the canonical address. So every absolute link (canonical, og:url, feeds,
mail) names the site itself, and nothing a client puts in `Host` or `X-Forwarded-Host`
can reach a page, a cached copy or a mail. Leaf module: imports nothing of ours."""

from __future__ import annotations

from urllib.parse import urlsplit

REFUSED = b"Unknown host: this site answers only at its own address.\n"


def hostname(host_header: str) -> str:
    """'Example.org:443' -> 'example.org'; '[::1]:80' -> '::1' (ports are not compared,
    as in Django's ALLOWED_HOSTS: a proxy may or may not pass them on)."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0].rstrip(".")


def origin(public_url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of PUBLIC_URL; a clear error for anything but an origin."""
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"PUBLIC_URL must be the site's origin, like https://community.example.org (got {public_url!r})")
    return parts.scheme, parts.netloc.lower()


class CanonicalHost:
    """WSGI middleware: refuse unknown hosts, then present the canonical one.

    `open_paths` answer on any host: a load balancer's health check names the backend
    by its address, and /healthz shows no links."""

    def __init__(self, wsgi_app, public_url: str, aliases: list[str] = (), open_paths: tuple[str, ...] = ("/healthz",)):
        self.wsgi_app, self.open_paths = wsgi_app, open_paths
        self.scheme, self.netloc = origin(public_url)
        self.allowed = {hostname(self.netloc), *(hostname(alias) for alias in aliases if alias.strip())}

    def __call__(self, environ, start_response):
        if hostname(environ.get("HTTP_HOST", "")) not in self.allowed:
            if environ.get("PATH_INFO") in self.open_paths:
                return self.wsgi_app(environ, start_response)
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(REFUSED))), ("Cache-Control", "no-store")])
            return [REFUSED]
        environ["HTTP_HOST"] = self.netloc  # what werkzeug reads first for the request's host
        environ["wsgi.url_scheme"] = self.scheme
        return self.wsgi_app(environ, start_response)
