"""deploy/: the systemd units and the nginx config, checked with the tools that read them.

- every unit passes `systemd-analyze verify` (skipped where systemd-analyze is absent);
- no directive carries a trailing `# comment` (systemd passes one on ExecStart to the
  program as arguments), every command is an absolute path that runs a real command,
  every service has the same hardening block as the app unit;
- the app still runs with MemoryDenyWriteExecute (the kernel's PR_SET_MDWE, when it has it);
- `nginx -t` accepts the shipped deploy/nginx.conf, both as the reliability tests rewrite it
  (127.0.0.1, no TLS) and with TLS on, given a throwaway certificate (skipped without nginx).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest

from tests.reliability.support import free_port
from tests.reliability.test_host_header_http import NGINX, nginx_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV = Path(sys.prefix)  # the venv running the tests: /srv/gi-community/.venv on a host
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
OPENSSL = shutil.which("openssl")

APP_UNIT = "gi-community.service"
MIGRATE_UNIT = "gi-community-migrate.service"
TIMED_JOBS = {  # timer name -> the command its service runs
    "gi-community-digests": "notifications send-digests",
    "gi-community-prune": "sessions prune",
    "gi-community-feed": "feeds refresh",
}
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNITS if p.suffix == ".service"]
EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost", "ExecCondition")
# [Service] settings that say what a unit runs and how; every other one is hardening, and
# every service must have the same hardening as the app unit.
JOB_SETTINGS = {
    "Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment", "RemainAfterExit",
    "Restart", "RestartSec", "KillMode", "TimeoutStartSec", "TimeoutStopSec", "RuntimeDirectory",
    "RuntimeDirectoryMode", *EXEC_KEYS,
}
HARDENING = (  # what issue 23 asks for, at the least
    "NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "ProtectHome", "PrivateTmp", "PrivateDevices",
    "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
    "RestrictAddressFamilies", "RestrictNamespaces", "LockPersonality", "MemoryDenyWriteExecute",
    "SystemCallArchitectures", "CapabilityBoundingSet", "UMask",
)


def directives(path: Path) -> list[tuple[str, str, str, int]]:
    """(section, key, value, line number) for every assignment, in order."""
    found, section = [], ""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]")
            continue
        key, sep, value = stripped.partition("=")
        assert sep, f"{path.name}:{number}: not a key=value line: {line!r}"
        found.append((section, key.strip(), value.strip(), number))
    return found


def values(path: Path, key: str, section: str | None = None) -> list[str]:
    return [v for s, k, v, _ in directives(path) if k == key and (section is None or s == section)]


def seconds(span: str) -> float:
    """A systemd time span such as 45s, 1min 30s, 2h (the forms the units use)."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hr": 3600}
    parts = re.findall(r"(\d+)\s*([a-z]*)", span)
    assert parts and "".join(n + u for n, u in parts) == span.replace(" ", ""), span
    return sum(int(n) * units[u] for n, u in parts)


# ------------------------------------------------------------------- the unit files


def test_the_units_shipped():
    names = {p.name for p in UNITS}
    assert {APP_UNIT, MIGRATE_UNIT} <= names
    for job, command in TIMED_JOBS.items():
        assert {f"{job}.service", f"{job}.timer"} <= names
        service = DEPLOY / f"{job}.service"
        assert values(service, "Type") == ["oneshot"], service.name
        assert f"/bin/flask --app community {command}" in values(service, "ExecStart")[0], service.name
    # The feeds are rows (flask feeds add, /admin/feeds), not an environment variable.
    assert values(DEPLOY / "gi-community-feed.service", "ExecStart")[0].endswith(" feeds refresh")
    for timer in (p for p in UNITS if p.suffix == ".timer"):
        assert timer.with_suffix(".service").name in names, f"{timer.name} has no service to start"
        assert values(timer, "OnCalendar", "Timer"), timer.name
        assert values(timer, "Persistent", "Timer") == ["true"], timer.name
        assert values(timer, "RandomizedDelaySec", "Timer"), timer.name
        assert values(timer, "WantedBy", "Install") == ["timers.target"], timer.name
        assert timer.read_text().startswith("#"), f"{timer.name}: a comment saying what it is for comes first"
    for service in SERVICES:
        assert service.read_text().startswith("#"), f"{service.name}: a comment saying what it is for comes first"


def test_no_comment_after_a_value():
    """The old bug: `ExecStart=... wsgi:app  # comment` hands "#" and "comment" to gunicorn."""
    for unit in UNITS:
        for _section, key, value, number in directives(unit):
            assert "#" not in value, f"{unit.name}:{number}: {key}= has a '#' in its value; comments go on their own line"


def test_commands_are_absolute_and_exist(tmp_path, monkeypatch):
    """Every Exec line starts with an absolute path (systemd wants one), and the `flask`
    commands the units run are commands the app has."""
    from community import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.sqlite'}",
                      "PUBLIC_URL": "https://community.example.org", "RATELIMIT_STORAGE_URI": "memory://",
                      "CACHE_TYPE": "SimpleCache", "MAIL_SERVER": None})
    ran = set()
    for service in SERVICES:
        for _section, key, value, number in directives(service):
            if key not in EXEC_KEYS:
                continue
            argv = value.lstrip("-@:+!").split()
            assert argv[0].startswith("/"), f"{service.name}:{number}: {key}= needs an absolute path"
            program = Path(argv[0].replace("/srv/gi-community/.venv", str(VENV)).replace("/srv/gi-community", str(ROOT)))
            assert program.exists(), f"{service.name}:{number}: {program} does not exist here"
            if program.name == "flask":
                assert argv[1:3] == ["--app", "community"], f"{service.name}:{number}"
                command, words = app.cli, argv[3:]
                while isinstance(command, click.Group) and words:  # down to the command itself
                    command = command.get_command(click.Context(command), words[0])
                    assert command is not None, f"{service.name}:{number}: no `flask {' '.join(argv[3:])}` command"
                    ran.add(words.pop(0))
    assert {"db", "upgrade", "send-digests", "prune", "refresh"} <= ran


def test_migrations_run_once_not_on_every_app_start():
    app, migrate = DEPLOY / APP_UNIT, DEPLOY / MIGRATE_UNIT
    app_commands = [v for k in EXEC_KEYS for v in values(app, k)]
    assert not any("db upgrade" in command for command in app_commands), "hosts starting together race on the migration"
    assert MIGRATE_UNIT in " ".join(values(app, "After", "Unit")).split()
    assert values(migrate, "Type") == ["oneshot"] and values(migrate, "RemainAfterExit") == ["yes"]
    assert values(migrate, "ExecStart")[0].endswith("flask --app community db upgrade")
    # `systemctl enable gi-community-migrate` on the one host that migrates adds the Requires=.
    assert values(migrate, "RequiredBy", "Install") == [APP_UNIT]
    assert values(migrate, "EnvironmentFile") == values(app, "EnvironmentFile")


def test_the_app_stops_gracefully():
    unit = DEPLOY / APP_UNIT
    assert values(unit, "KillMode") == ["mixed"]
    start = values(unit, "ExecStart")[0]
    match = re.search(r"--graceful-timeout[ =](\d+)", start)
    graceful = int(match.group(1)) if match else 30  # gunicorn's default
    assert seconds(values(unit, "TimeoutStopSec")[0]) > graceful


def hardening(service: Path) -> dict[str, str]:
    return {k: v for section, k, v, _n in directives(service) if section == "Service" and k not in JOB_SETTINGS}


def test_every_service_is_hardened_alike():
    reference = hardening(DEPLOY / APP_UNIT)
    assert set(HARDENING) <= set(reference), set(HARDENING) - set(reference)
    assert reference["NoNewPrivileges"] == "yes" and reference["ProtectSystem"] == "strict"
    assert reference["ReadWritePaths"] == "/srv/gi-community/instance"  # the instance folder only
    assert reference["CapabilityBoundingSet"] == "" and reference["UMask"] == "0077"
    assert reference["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX"
    for service in SERVICES:
        settings = hardening(service)
        assert settings.get("NoNewPrivileges") == "yes" and settings.get("ProtectSystem") == "strict", service.name
        assert settings == reference, f"{service.name} is hardened differently from {APP_UNIT}"
        assert values(service, "User") == ["gi"], service.name


# ------------------------------------------------------------------ systemd-analyze


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: the systemd package)")
def test_systemd_analyze_verify(tmp_path):
    """`systemd-analyze verify` on copies of the units. The one rewrite: /srv/gi-community
    (and its .venv) become this checkout and the venv running the tests, because verify
    refuses an ExecStart whose program does not exist. Everything else stays as shipped:
    verify does not look up User=gi or read EnvironmentFile=, so neither needs changing.
    --man=no: no man pages to look up; --generators=no: no generators to run (none are
    needed, and in a container without a running systemd they fail)."""
    for unit in UNITS:
        text = unit.read_text().replace("/srv/gi-community/.venv", str(VENV)).replace("/srv/gi-community", str(ROOT))
        (tmp_path / unit.name).write_text(text)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": "", "LANG": "C.UTF-8"}
    files = [str(tmp_path / unit.name) for unit in UNITS]
    flags = ["--man=no", "--generators=no"]
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", *flags, *files], capture_output=True, text=True,
                            env=env, timeout=120)
    if "generators" in result.stderr and ("unrecognized" in result.stderr or "unknown" in result.stderr.lower()):
        flags = ["--man=no"]  # systemd older than 250
        result = subprocess.run([SYSTEMD_ANALYZE, "verify", *flags, *files], capture_output=True, text=True,
                                env=env, timeout=120)
    output = result.stdout + result.stderr
    # Any line naming one of our units is a complaint: verify is silent on a clean unit.
    # (Lines about the machine's own units, on a host with a broken one, are not ours.)
    ours = [line for line in output.splitlines() if "gi-community" in line]
    assert result.returncode == 0 and not ours, output


# ------------------------------------------------------------ MemoryDenyWriteExecute

MDWE_CHECK = textwrap.dedent("""
    import ctypes, os, sys
    from pathlib import Path
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN (Linux 6.3)
        print("NO-MDWE"); sys.exit(0)
    import mmap
    try:  # what the setting refuses: memory both writable and executable
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        sys.exit("PR_SET_MDWE did not take effect")
    except OSError:
        pass
    sys.path.insert(0, os.environ["GI_ROOT"])
    tmp = Path(os.environ["GI_TMP"])
    from tests.reliability.support import app_env, prepare_database
    env = app_env(tmp, f"sqlite:///{tmp / 'mdwe.sqlite'}")
    prepare_database(env, tmp)  # flask db upgrade, flask import-feed
    from community import create_app
    app = create_app({"SECRET_KEY": env["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "RATELIMIT_STORAGE_URI": "memory://", "CACHE_TYPE": "SimpleCache", "MAIL_SERVER": None,
                      "PUBLIC_URL": "https://community.example.org"})
    runner = app.test_cli_runner()
    for args in (["users", "create", "mdwe", "--email", "m@example.org", "--password", "a long and unusual passphrase"],
                 ["sessions", "prune"], ["notifications", "send-digests"]):
        with app.app_context():
            result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    with app.app_context():
        from community.services import accounts
        assert accounts.authenticate("mdwe", "a long and unusual passphrase")  # argon2
    for path in ("/", "/episodes/", "/feeds/episodes.atom", "/api/v1/episodes"):
        response = app.test_client().get(path, headers={"Host": "community.example.org"})
        assert response.status_code == 200, (path, response.status_code)
    import psycopg, gunicorn.app.wsgiapp, redis  # noqa: F401  (C extensions load)
    if os.environ.get("TEST_DATABASE_URL"):
        url = os.environ["TEST_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    if os.environ.get("TEST_REDIS_URL"):
        assert redis.Redis.from_url(os.environ["TEST_REDIS_URL"], socket_timeout=10).ping()
    print("OK", psycopg.pq.__impl__)
""")


def test_the_app_runs_with_memory_deny_write_execute(tmp_path):
    """MemoryDenyWriteExecute=yes breaks programs that JIT or build executable memory at
    run time. The kernel's PR_SET_MDWE refuses the same (mappings both writable and
    executable, making memory executable later) for a process and its children, so the
    app's commands and pages run under it here: argon2, SQLite, psycopg (and a real
    PostgreSQL when TEST_DATABASE_URL is set)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_MDWE is Linux's")
    result = subprocess.run([sys.executable, "-c", MDWE_CHECK], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env={**_clean_env(), "GI_ROOT": str(ROOT), "GI_TMP": str(tmp_path),
                                 "INSTANCE_PATH": str(tmp_path / "instance")})
    if result.stdout.strip() == "NO-MDWE":
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3 and later): MemoryDenyWriteExecute not checked")
    assert result.returncode == 0 and result.stdout.strip().startswith("OK"), result.stdout + result.stderr


def _clean_env() -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TEST_DATABASE_URL", "TEST_REDIS_URL", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k in keep}


# --------------------------------------------------------------------------- nginx


def _nginx_t(prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)


def _nginx_complaints(output: str) -> list[str]:
    """Warnings and errors, but one: nginx 1.25.1 and later deprecate `listen ... http2` for
    `http2 on;`, which Debian 12's nginx (1.22) does not know; the config keeps what both read."""
    return [line for line in output.splitlines()
            if re.search(r"\[(warn|emerg|alert|crit|error)\]", line) and "listen ... http2" not in line]


@pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed (make test installs nginx-light with apt-get)")
def test_nginx_t_on_the_config_the_reliability_tests_run(tmp_path):
    """deploy/nginx.conf as tests/reliability/test_host_header_http.py runs it (127.0.0.1, no TLS)."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(
        nginx_config((DEPLOY / "nginx.conf").read_text(), free_port(), free_port(), free_port(), prefix))
    result = _nginx_t(prefix)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "test is successful" in output, output
    assert not _nginx_complaints(output), output


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for community.example.org: with the `cryptography` package
    when it is installed, else with the openssl command; skips when neither is here."""
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if OPENSSL is None:
            pytest.skip("neither the cryptography package nor the openssl command is here to make a test certificate")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                        "-subj", "/CN=community.example.org"], check=True, capture_output=True, timeout=60)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "community.example.org")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("community.example.org")]), critical=False)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


@pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed (make test installs nginx-light with apt-get)")
def test_nginx_t_on_the_shipped_config_with_tls(tmp_path):
    """The shipped server blocks unchanged (TLS, http2, ssl_reject_handshake, the upstream of
    10.0.0.x hosts), with only the certificate paths pointed at a throwaway certificate
    and the ports 443/80 moved to free ones; wrapped in the http block nginx.conf gives it
    on a host (here with pid, logs and temporary files under the test's folder)."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = _self_signed(tmp_path)
    shipped = (DEPLOY / "nginx.conf").read_text()
    assert "listen 443 ssl http2;" in shipped and "ssl_certificate " in shipped
    config = re.sub(r"(?m)^(\s*ssl_certificate)\s+\S+;", rf"\1 {cert};", shipped)
    config = re.sub(r"(?m)^(\s*ssl_certificate_key)\s+\S+;", rf"\1 {key};", config)
    config = re.sub(r"listen 443\b", f"listen {free_port()}", config)
    config = re.sub(r"listen 80\b", f"listen {free_port()}", config)
    assert str(cert) in config and str(key) in config and "listen 443" not in config
    temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\nevents {{ worker_connections 64; }}\n"
        f"http {{\naccess_log {prefix / 'access.log'};\n{temp}\n{config}\n}}\n")
    result = _nginx_t(prefix)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "test is successful" in output, output
    assert not _nginx_complaints(output), output
