"""Keys and slugs made from names and titles (a leaf: imports nothing of ours).

Not to be confused with identity.name_key, which asks whether two account names could
pass for each other: person_key only asks whether two spellings name one person."""

from __future__ import annotations

import re
import unicodedata


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slugify(text: str, max_length: int = 60) -> str:
    """'Generally Intelligent #12: José' -> 'generally-intelligent-12-jose'."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    return slug[:max_length].rstrip("-") or "episode"


def without_initials(key: str) -> str:
    """A person_key with middle initials and punctuation dropped: 'christopher d. manning'
    and 'christopher manning' are one person; first and last names stay."""
    words = re.sub(r"[^a-z0-9 ]+", " ", key).split()
    if len(words) <= 2:
        return " ".join(words)
    return " ".join([words[0], *(w for w in words[1:-1] if len(w) > 1), words[-1]])


def person_key(name: str) -> str:
    """Case- and accent-insensitive key: 'José' and 'jose ' are one person (Person.name_key,
    and a guest suggestion's title_key, so a nominee is suggested once)."""
    return " ".join(_ascii(name).lower().split())
