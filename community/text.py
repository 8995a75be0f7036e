"""Character hygiene for user and feed text (a leaf: imports nothing of ours).

Control characters have no business in prose, and XML 1.0 refuses them outright: one
form feed in a post would make every Atom feed that carries it fail to build."""

from __future__ import annotations

import re

# C0 controls except tab and newline (a carriage return has been folded into newlines first).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")
# Everything outside XML 1.0's Char production: C0 but tab, LF and CR; lone surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def strip_controls(text: str) -> str:
    """Line ends as LF (CRLF and lone CR), and no other C0 control but tab."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def xml_safe(text: str) -> str:
    """Only what XML 1.0 accepts: for anything written into a feed, whatever is stored."""
    return _NOT_XML.sub("", text)
