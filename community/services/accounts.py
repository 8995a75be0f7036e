"""Registration, authentication, profiles, passwords and roles (login sessions: services/sessions)."""

from __future__ import annotations

import re
import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from community import identity, markup
from community.extensions import db
from community.models import EmailAddress, Role, User
from community.models.base import utcnow
from community.services import DomainError, PermissionDenied, admin_log
from community.services.sessions import end_all_sessions, start_session

@cache
def _argon2(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The hasher for these costs, and a dummy hash verified against when the account does
    not exist, so both answers take as long."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    """argon2id at the configured cost (config.py: OWASP's m=19 MiB, t=2, p=1)."""
    config = current_app.config
    return _argon2(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"])

USERNAME_RE = re.compile(r"[A-Za-z0-9_-]{3,30}")
PASSWORD_MIN, PASSWORD_MAX = 10, 256
MAX_LINKS = 5


@cache
def common_passwords() -> frozenset[str]:
    """SecLists' 10,000 most common passwords (community/data/common-passwords.SOURCE.md)."""
    text = resources.files("community").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str) -> str | None:
    """Why a password is refused, or None. The single rule used by every form and command."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if password.lower() in common_passwords():
        return "This password is among the 10,000 most common ones; choose another."
    return None


STAFF_ROLES = (Role.moderator, Role.admin)


def _look_alike(key: str, exclude: User | None = None) -> str | None:
    """The name (username or display name) of another account that `key` could pass for."""
    if not key:
        return None
    query = select(User.username, User.display_name, User.username_skeleton).where(
        or_(User.username_skeleton == key, User.display_name_skeleton == key))
    if exclude is not None and exclude.id is not None:
        query = query.where(User.id != exclude.id)
    row = db.session.execute(query.limit(1)).first()
    if row is None:
        return None
    return row.username if row.username_skeleton == key else row.display_name


def _role_word_problem(name: str, what: str) -> str | None:
    word = identity.role_word(name)
    if word is None:
        return None
    return (f"{what} cannot contain “{word}” or a look-alike: it would read as a role on this site. "
            "Moderators and admins carry a badge next to their name instead.")


def username_problem(username: str, role: Role = Role.member) -> str | None:
    """Why a new username is refused, or None: ASCII only, free, not a look-alike of another
    account's username or display name (Unicode TR39 skeletons, see community/identity.py),
    and no role word unless the account is staff's ("mod_marta" made by an operator)."""
    if not USERNAME_RE.fullmatch(username or ""):
        return "3 to 30 letters, digits, _ or -."
    if db.session.scalar(select(User.id).where(User.username_key == username.lower())):
        return "That username is taken."
    other = _look_alike(identity.name_key(username))
    if other is not None:
        return f"That username is too close to an existing name: {other}. Choose one that cannot be mistaken for it."
    if role not in STAFF_ROLES:
        return _role_word_problem(username, "A username")
    return None


def display_name_problem(user: User, display_name: str) -> str | None:
    """Why `user` may not take this display name (already cleaned), or None. One's own
    username and current display name are always fine; so is no display name."""
    if not display_name or display_name == user.display_name:
        return None
    key = identity.name_key(display_name)
    other = _look_alike(key, exclude=user)
    if other is not None:
        return (f"That display name is too close to an existing name: {other}. "
                "Choose one that cannot be mistaken for another member.")
    if user.role not in STAFF_ROLES:
        return _role_word_problem(display_name, "A display name")
    return None


def email_problem(email: str, exclude: User | None = None) -> str | None:
    """An address belongs to one account: another account's own, or an institutional one it
    confirmed (services.emails), is refused."""
    key = email.strip().lower()
    query = select(User.id).where(User.email_key == key)
    confirmed = select(EmailAddress.id).where(EmailAddress.email_key == key, EmailAddress.confirmed_at.is_not(None))
    if exclude is not None:
        query = query.where(User.id != exclude.id)
        confirmed = confirmed.where(EmailAddress.user_id != exclude.id)
    if db.session.scalar(query) or db.session.scalar(confirmed):
        return "An account with this email already exists."
    return None


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def _check_password(user: User | None, password: str) -> bool:
    hasher, dummy_hash = _hasher()
    try:
        ok = hasher.verify(user.password_hash if user else dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ok and user is not None and hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return ok and user is not None


def register(username: str, email: str, password: str, role: Role = Role.member, confirmed: bool = False) -> User:
    """confirmed=True for accounts an operator makes (the command line, the demo): their address
    needs no link. Any other new account waits for services.emails' confirmation link."""
    for problem in (username_problem(username, role), email_problem(email), password_problem(password)):
        if problem:
            raise DomainError(problem)
    user = User(
        username=username,
        username_key=username.lower(),
        username_skeleton=identity.name_key(username),
        email=email.strip(),
        email_key=email.strip().lower(),
        password_hash=hash_password(password),
        display_name="",
        display_name_skeleton="",
        role=role,
        links=[],
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def find_by_login(login: str) -> User | None:
    key = (login or "").strip().lower()
    return db.session.scalar(select(User).where(or_(User.username_key == key, User.email_key == key)))


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username_key == (username or "").lower()))


def authenticate(login: str, password: str) -> User:
    user = find_by_login(login)
    if not _check_password(user, password):
        raise DomainError("Wrong username/email or password.")
    return user


def clean_links(lines: list[str], limit: int = MAX_LINKS) -> list[str]:
    """Non-empty lines as http(s) links (profiles, nominees); anything else is refused."""
    links = [line.strip() for line in lines if line.strip()]
    if len(links) > limit:
        raise DomainError(f"At most {limit} links.")
    for link in links:
        if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", link):
            raise DomainError(f"Not an http(s) link: {link}")
    return links


def update_profile(actor: User, *, display_name: str, affiliation: str, bio: str, links: list[str]) -> None:
    if actor.is_suspended():
        raise PermissionDenied("Your account is suspended: your profile cannot change until it ends.")
    links = clean_links(links)
    display_name = identity.clean_display_name(display_name)
    problem = display_name_problem(actor, display_name)
    if problem:
        raise DomainError(problem)
    actor.display_name = display_name
    actor.display_name_skeleton = identity.name_key(display_name) if display_name else ""
    actor.affiliation = affiliation.strip()
    actor.bio_source = bio
    actor.bio_html = markup.render(bio)
    actor.links = links
    db.session.flush()


def change_password(actor: User, current: str, new: str) -> str:
    """Every other session dies; returns the token of the fresh one for this browser."""
    if not _check_password(actor, current):
        raise DomainError("Your current password is not right.")
    return _set_password(actor, new)


def _set_password(user: User, new: str) -> str:
    problem = password_problem(new)
    if problem:
        raise DomainError(problem)
    user.password_hash = hash_password(new)
    end_all_sessions(user)
    return start_session(user)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    # The tail of the current hash makes the token single-use: a new password voids it.
    return _reset_serializer().dumps({"uid": user.id, "pw": user.password_hash[-16:]})


def user_for_reset_token(token: str) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["RESET_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise DomainError("This reset link has expired; ask for a new one.") from None
    except BadSignature:
        raise DomainError("This reset link is not valid; ask for a new one.") from None
    user = db.session.get(User, data.get("uid"))
    if user is None or user.password_hash[-16:] != data.get("pw"):
        raise DomainError("This reset link has already been used; ask for a new one.")
    return user


def reset_password(token: str, new: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, new)
    return user


def set_role(actor: User | None, user: User, role: Role) -> bool:
    """actor None means the command line (an operator with shell access). One admin-log
    row; False when the account had that role already."""
    if actor is not None and actor.role != Role.admin:
        raise PermissionDenied("Only admins change roles.")
    if actor is not None and actor.id == user.id and role != Role.admin:
        raise DomainError("You cannot take away your own admin role: ask another admin.")
    if user.role == role:
        return False
    before = user.role
    user.role = role
    db.session.flush()
    admin_log.record(actor, "user.role", target_type="user", target_id=user.id,
                     summary=f"@{user.username}: {before.value} → {role.value}",
                     before={"role": before.value}, after={"role": role.value})
    return True


def search_users(q: str, page: int = 1, per_page: int = 50):
    """Accounts whose username, display name or email contains the words, newest first."""
    query = select(User).where(User.deleted_at.is_(None)).order_by(User.created_at.desc(), User.id.desc())
    # LIKE's wildcards are dropped from what was typed: a search, not a pattern.
    words = " ".join((q or "").split()).lower().replace("%", "").replace("_", "").replace("\\", "")
    if words:
        like = f"%{words}%"
        query = query.where(or_(func.replace(User.username_key, "_", "").like(like),
                                func.lower(User.display_name).like(like), func.replace(User.email_key, "_", "").like(like)))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)
