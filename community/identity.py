"""Names that look alike (a leaf: imports nothing of ours).

Unicode's own answer to "can these two names be mistaken for each other" is the confusable
skeleton of UTS #39 (Unicode Security Mechanisms), section 4:

    skeleton(X) = NFD(each character of NFD(X) replaced by its prototype in confusables.txt)

so `ada_I` and `ada_l` (capital I looks like l), `mod_rnarta` and `mod_marta` (rn looks like m)
and Cyrillic `аda_l` and Latin `ada_l` have the same skeleton. The data is Unicode's own file,
shipped in community/data (see confusables.SOURCE.md).

For names on this site the skeleton is taken further (`name_key`): case-folded, because
usernames are case-insensitive and `m0d_marta` must meet `mod_marta` (0 -> O -> o); NFKC
for the compatibility characters the table leaves to it (fullwidth letters); invisible
characters dropped; and separators ignored, so `mod-marta`, `mod_marta` and `Mod Marta`
are one name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt): characters that render as
# nothing. Soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers, Khmer
# inherent vowels, Mongolian variation selectors, ZWSP/ZWNJ/ZWJ, LRM/RLM, LRE..RLO, word
# joiner and invisible operators, LRI..PDI and the deprecated format characters, variation
# selectors, BOM, halfwidth Hangul filler, unassigned specials, shorthand format controls,
# musical symbol format controls, tags and the supplementary variation selectors.
_DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"
)
# What a name never needs and an impostor likes: the invisible characters above, every other
# format control (category Cf) and control (Cc), and the blank Braille pattern, which is
# drawn as an empty cell.
_INVISIBLE = re.compile(f"[{_DEFAULT_IGNORABLE}\u2800]")
_SPACES = re.compile(r"\s+")

# Words that would make a name read as the site's or the show's: names holding them could
# pass for staff. "Strong" words are refused anywhere in a name; "weak" ones are ordinary
# words and names ("Team Rocket", "Support Vector", "Gi-hun") and are refused only when
# the name is made of nothing but role words ("GI Team", "Support").
STRONG_ROLE_WORDS = ("admin", "administrator", "moderator", "mod", "staff", "official", "host", "guest")
WEAK_ROLE_WORDS = ("support", "team", "gi")
ROLE_PHRASES = ("generally intelligent",)
ROLE_WORDS = STRONG_ROLE_WORDS + WEAK_ROLE_WORDS + ROLE_PHRASES

KEY_MAX = 255  # the width of the stored key columns; a longer key is cut (both sides alike)


@cache
def prototypes() -> dict[int, str]:
    """confusables.txt as a str.translate table: code point -> prototype. Parsed once."""
    text = resources.files("community").joinpath("data/confusables.txt").read_text("utf-8-sig")
    table: dict[int, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target = (field.strip() for field in line.split(";")[:2])
        table[int(source, 16)] = "".join(chr(int(point, 16)) for point in target.split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 section 4, exactly: NFD, each character to its prototype, NFD again."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(prototypes()))


def strip_invisible(text: str) -> str:
    """Without the characters that show as nothing: zero-width ones, joiners, BOM, bidi
    marks, embeddings, overrides and isolates, soft hyphen, variation selectors, tags,
    Hangul fillers, every other format (Cf) and control (Cc) character but whitespace."""
    text = _INVISIBLE.sub("", text)
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc"))


def clean_display_name(text: str) -> str:
    """A display name as stored: no invisible or direction-changing characters, any run of
    whitespace (tabs, no-break and ideographic spaces, line separators) as one space, NFC."""
    text = strip_invisible(unicodedata.normalize("NFC", text or ""))
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())


def _folded_skeleton(text: str) -> str:
    """Skeleton, then NFKC and case folding, repeated until stable. NFKC: confusables.txt
    leaves most compatibility characters to it (fullwidth `ｄ`, `ﬁ`); it comes after the
    skeleton so that a character's confusable prototype wins (`ſ` looks like `f`, though NFKC
    makes it `s`). Repeated: the skeleton of `M` is `M`, whose folding `m` has the skeleton
    `rn`; the skeleton of `I` is `l`, already folded."""
    current = strip_invisible(text)
    for _ in range(6):
        following = unicodedata.normalize("NFKC", skeleton(current)).casefold()
        if following == current:
            break
        current = following
    return current


def _without_separators(folded: str) -> str:
    kept = "".join(ch for ch in folded if not unicodedata.category(ch)[0] in "PZ" and not ch.isspace())
    return kept or folded  # a name of nothing but punctuation is compared as it is


def name_key(text: str) -> str:
    """What two names are compared by: equal keys mean one could pass for the other."""
    return _without_separators(_folded_skeleton(text or ""))[:KEY_MAX]


# "ModMarta" is two words, "GITeam" too, "McDonald" is ... also two, which does no harm here.
_CAMEL = re.compile(r"(?<=[^\W\d_])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z])")


def _words(text: str) -> list[str]:
    """The words of a name, each as a key: split at spaces, punctuation and case changes."""
    spaced = _CAMEL.sub(" ", strip_invisible(unicodedata.normalize("NFKC", text)))
    folded = _folded_skeleton(spaced)
    return [word for word in re.split(r"[\W_]+", folded) if word]


@cache
def _role_keys() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Role word keys (of the word as written, capitalised and in capitals: `GI` looks like
    `Gl`, not `gi`) -> the word; strong words, weak words, phrases."""
    def keys(words, as_words: bool = True):
        table = {}
        for word in words:
            for variant in (word, word.title(), word.upper()):
                table[name_key(variant)] = word
                if as_words:  # also as _words sees it (which keeps NFKC's and the camel split's view)
                    for single in _words(variant):
                        table.setdefault(single, word)
        return table

    return keys(STRONG_ROLE_WORDS), keys(WEAK_ROLE_WORDS), keys(ROLE_PHRASES, as_words=False)


def role_word(text: str) -> str | None:
    """The role word a name claims (e.g. "moderator" in "Moderator Marta", "mod" in "Marta_mod",
    "gi" in "GI Team"), or None. Homoglyphs and plurals count: "Μ0DS" is "mod"."""
    strong, weak, phrases = _role_keys()
    whole = name_key(text)
    for key, phrase in phrases.items():
        if key in whole:
            return phrase
    words = _words(text)
    if not words:
        return None

    def lookup(table: dict[str, str], word: str) -> str | None:
        if word in table:
            return table[word]
        return table.get(word[:-1]) if word.endswith("s") and len(word) > 3 else None

    for word in words:
        found = lookup(strong, word)
        if found:
            return found
    found_weak = [lookup(weak, word) or lookup(strong, word) for word in words]
    if all(found_weak):
        return found_weak[0]
    return weak.get(whole) or strong.get(whole)
