"""Normalisation: turn one input into the views the detectors scan.

Attackers hide instructions from regular expressions with full-width letters,
Cyrillic look-alikes, zero-width joiners, leetspeak, s p a c e d letters, Unicode
tag characters and encodings (base64, hex, rot13, URL-encoding, Morse, Braille ...).
Rather than make every pattern aware of every trick, each trick is undone once here
and every detector scans every *view*. A view is only built when its trigger is
present, so a plain prompt costs one NFKC pass.

The original text is kept for the secret and PII detectors: NFKC and case folding
would change a key, and masking must show the real shape.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["MAX_DECODE_DEPTH", "Normalised", "View", "coerce_text", "normalise"]

MAX_DECODE_DEPTH = 2  # base64 of base64 is seen; deeper nesting is rare and costs time

# Invisible format characters: zero-width space/joiners, bidi controls, word joiner, BOM,
# soft hyphen, Mongolian vowel separator, variation selectors.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
# Unicode "tag" characters mirror ASCII at U+E0000: invisible on screen, read by some models.
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_ZALGO = re.compile(r"[\u0300-\u036f\u0483-\u0489\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{2,}")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")

# Look-alikes of Latin letters from Cyrillic, Greek and a few symbol blocks (a subset of
# Unicode's confusables.txt: the letters an attacker can actually type in a word).
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "ɡ": "g",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        "ո": "n",
        "ս": "u",
        "ց": "g",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "Ү": "Y",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        "ı": "i",
        "ℓ": "l",
        "ß": "ss",
        "ø": "o",
        "đ": "d",
        "ł": "l",
    }
)
_CONFUSABLE_CHARS = frozenset(k for k in "авеёкмнорстухѕіїјԁɡһԛԝոսցАВЕКМНОРСТХЅІЈҮαεικνορτυχωΑΒΕΖΗΙΚΜΝΟΡΤΥΧ")
_LATIN = re.compile(r"[A-Za-z]")
_MIXED_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+\b")

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
        "€": "e",
    }
)
# a token mixing letters with leet digits/symbols: 1gn0r3, pr0mpt, $y$tem
_LEET_TOKEN = re.compile(r"(?=[\w@$!|+€]*[A-Za-z])(?=[\w@$!|+€]*[0-9@$!|+€][\w@$!|+€]*)[\w@$!|+€]{3,}")
_SPACED = re.compile(r"(?<![\w])(?:\w[ .\-_*/|]){3,}\w(?![\w])")

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_BASE32 = re.compile(r"(?<![A-Z2-7=])[A-Z2-7]{16,}={0,6}(?![A-Z2-7=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[\s:,]?){8,}")
_URLENC = re.compile(r"(?:%[0-9A-Fa-f]{2}.*){3,}", re.S)
_ROT_HINT = re.compile(r"rot-?13|rot ?13|caesar|cipher|rotat", re.I)
_MORSE = re.compile(r"(?:[.\-]{1,7}[ /]+){6,}[.\-]{1,7}")
_BRAILLE = re.compile("[\u2800-\u28ff]{4,}")
_NATO_WORDS = [
    *("alfa", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"),
    *("juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra"),
    *("tango", "uniform", "victor", "whiskey", "x-ray", "xray", "yankee", "zulu"),
]
_NATO = re.compile(r"(?:\b(?:" + "|".join(_NATO_WORDS) + r")\b[\s,]*){6,}", re.I)

_MORSE_TABLE = {
    ".-": "a",
    "-...": "b",
    "-.-.": "c",
    "-..": "d",
    ".": "e",
    "..-.": "f",
    "--.": "g",
    "....": "h",
    "..": "i",
    ".---": "j",
    "-.-": "k",
    ".-..": "l",
    "--": "m",
    "-.": "n",
    "---": "o",
    ".--.": "p",
    "--.-": "q",
    ".-.": "r",
    "...": "s",
    "-": "t",
    "..-": "u",
    "...-": "v",
    ".--": "w",
    "-..-": "x",
    "-.--": "y",
    "--..": "z",
    "-----": "0",
    ".----": "1",
    "..---": "2",
    "...--": "3",
    "....-": "4",
    ".....": "5",
    "-....": "6",
    "--...": "7",
    "---..": "8",
    "----.": "9",
}
# Braille ASCII (North American computer Braille): U+2800 + dot pattern -> character.
_BRAILLE_ASCII = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="


@dataclass(frozen=True)
class View:
    name: str  # text | homoglyphs | leetspeak | spaced | tags | base64 | base32 | hex | url | rot13 | ...
    text: str


@dataclass
class Normalised:
    original: str  # the input as text (bytes decoded, surrogates replaced), for secrets/PII
    views: list[View] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.views[0].text

    def decoded(self) -> list[View]:
        """The views that came out of a decoder (their content was hidden in the input)."""
        return [v for v in self.views if v.name in _DECODED_VIEWS]


_DECODED_VIEWS = frozenset({"tags", "base64", "base32", "hex", "url", "rot13", "morse", "braille", "nato"})


def coerce_text(value: object) -> tuple[str, list[str]]:
    """Text from str or bytes, never raising: invalid UTF-8 and lone surrogates become U+FFFD."""
    notes: list[str] = []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8"), ["bytes input"]
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace"), ["bytes input", "invalid UTF-8 replaced"]
    if not isinstance(value, str):
        raise TypeError(f"the input must be text (str or bytes), got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # lone surrogates (e.g. from surrogateescape) cannot be matched or logged safely
        value = value.encode("utf-8", errors="replace").decode("utf-8")
        notes.append("invalid UTF-8 (surrogates) replaced")
    return value, notes


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    ok = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return ok / len(text)


def _natural(text: str) -> bool:
    """Decoded bytes that read like text (not random binary that happened to decode)."""
    letters = sum(ch.isalpha() or ch == " " for ch in text)
    return len(text) >= 4 and _printable_ratio(text) > 0.95 and letters / len(text) > 0.6


def _b64(token: str) -> str | None:
    token = token.replace("-", "+").replace("_", "/")
    token += "=" * (-len(token) % 4)
    try:
        out = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return out if _natural(out) else None


def _b32(token: str) -> str | None:
    token += "=" * (-len(token) % 8)
    try:
        out = base64.b32decode(token).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return out if _natural(out) else None


def _hex(token: str) -> str | None:
    digits = re.sub(r"\\x|0x|[\s:,]", "", token)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        out = bytes.fromhex(digits).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return out if _natural(out) else None


def _morse(token: str) -> str:
    words = re.split(r"\s*/\s*|\s{2,}", token.strip())
    return " ".join("".join(_MORSE_TABLE.get(sym, "") for sym in w.split()) for w in words)


def _braille(token: str) -> str:
    return "".join(
        _BRAILLE_ASCII[ord(ch) - 0x2800] if ord(ch) - 0x2800 < len(_BRAILLE_ASCII) else "" for ch in token
    ).lower()


def _nato(token: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z-]+", token)).lower()


def _base_view(text: str, notes: list[str]) -> str:
    out = unicodedata.normalize("NFKC", text)
    if _INVISIBLE.search(out):
        notes.append("invisible characters removed")
        out = _INVISIBLE.sub("", out)
    if _ZALGO.search(out):
        notes.append("stacked combining marks removed")
        out = _ZALGO.sub("", out)
    return _SPACES.sub(" ", out)


def _decoders(text: str) -> list[View]:
    """Payloads hidden in ``text``, each decoded once."""
    found: list[View] = []

    def add(name: str, parts: list[str]) -> None:
        parts = [p for p in parts if p and p.strip()]
        if parts:
            found.append(View(name, "\n".join(parts)))

    if len(text) >= 16:
        add("base64", [d for t in _BASE64.findall(text) if (d := _b64(t))])
        add("base32", [d for t in _BASE32.findall(text) if (d := _b32(t))])
        add("hex", [d for t in (m.group(0) for m in _HEX.finditer(text)) if (d := _hex(t))])
    if "%" in text and _URLENC.search(text):
        decoded = urllib.parse.unquote_plus(text)
        if decoded != text:
            add("url", [decoded])
    if _ROT_HINT.search(text):
        add("rot13", [codecs.decode(text, "rot_13")])
    if "." in text or "-" in text:
        add("morse", [_morse(m.group(0)) for m in _MORSE.finditer(text)])
    if _BRAILLE.search(text):
        add("braille", [_braille(m.group(0)) for m in _BRAILLE.finditer(text)])
    if _NATO.search(text):
        add("nato", [_nato(m.group(0)) for m in _NATO.finditer(text)])
    return found


def normalise(value: object) -> Normalised:
    """Every view of ``value`` worth scanning; the first is always the NFKC base view ``text``."""
    original, notes = coerce_text(value)
    base = _base_view(original, notes)
    result = Normalised(original=original, views=[View("text", base)], notes=notes)

    tags = _TAGS.findall(original)
    if tags:
        notes.append("Unicode tag characters decoded")
        hidden = "".join(chr(ord(ch) - 0xE0000) for run in tags for ch in run)
        result.views.append(View("tags", hidden))

    if _MIXED_WORD.search(base):
        notes.append("mixed scripts within a word")
    if _LATIN.search(base) and any(ch in _CONFUSABLE_CHARS for ch in base):
        mapped = base.translate(_CONFUSABLES)
        if mapped != base:
            result.views.append(View("homoglyphs", mapped))
    if _LEET_TOKEN.search(base):
        leet = _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), base)
        if leet != base:
            result.views.append(View("leetspeak", leet))
    if _SPACED.search(base):
        spaced = _SPACED.sub(lambda m: re.sub(r"[ .\-_*/|]", "", m.group(0)), base)
        if spaced != base:
            result.views.append(View("spaced", spaced))

    # Decode from the base view and from what was decoded, to MAX_DECODE_DEPTH levels.
    frontier = [base] + [v.text for v in result.views if v.name == "tags"]
    seen = {base}
    for _ in range(MAX_DECODE_DEPTH):
        nxt: list[str] = []
        for source in frontier:
            for view in _decoders(source):
                if view.text not in seen:
                    seen.add(view.text)
                    result.views.append(View(view.name, _base_view(view.text, [])))
                    nxt.append(view.text)
        frontier = nxt
        if not frontier:
            break
    if result.decoded():
        notes.append("decoded: " + ", ".join(sorted({v.name for v in result.decoded()})))
    return result
