"""Read the recommender's TypeScript profile registry (``services/api/src/profile/registry.ts``).

The registry is an object literal whose keys are feature names and whose values carry a ``dtype``
string. We scan it rather than evaluate it: a small tokenizer that understands comments, strings and
template literals finds the first top-level ``{ ... }`` that holds ``dtype`` entries, so function bodies
and type annotations around it do not confuse the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from contracts.profile import PROFILE_FEATURE_DTYPES, Dtype

DTYPE_ALIASES: Final[dict[str, Dtype]] = {
    "float": "float",
    "double": "float",
    "number": "float",
    "int": "int",
    "integer": "int",
    "bool": "bool",
    "boolean": "bool",
    "string": "string",
    "str": "string",
}

_KEY = re.compile(r"""\s*(?:([A-Za-z_$][\w$]*)|"([^"]+)"|'([^']+)')\s*:\s*\{""")
_DTYPE = re.compile(r"""\bdtype\s*:\s*["'`]([A-Za-z]+)["'`]""")


class RegistryParseError(ValueError):
    """The file does not hold a registry we can read."""


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between the recommender's registry and ours."""

    name: str
    ours: str | None
    theirs: str | None

    @property
    def kind(self) -> str:
        """missing-here, missing-there or dtype."""
        if self.ours is None:
            return "missing in tipsml"
        if self.theirs is None:
            return "missing in recommender"
        return "dtype differs"


def _strip_comments(src: str) -> str:
    """Blank out comments (keeping strings intact and offsets stable)."""
    out: list[str] = []
    i, n = 0, len(src)
    quote: str | None = None
    while i < n:
        c = src[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(src[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
            out.append(c)
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j == -1 else j
            out.append(" " * (j - i))
            i = j
            continue
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j == -1 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in src[i:j]))
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _match_brace(src: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``start``, skipping strings."""
    depth, i, quote = 0, start, None
    while i < len(src):
        c = src[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise RegistryParseError("unbalanced braces")


def _entries(body: str) -> dict[str, str]:
    """Top-level ``name: { ... dtype: "x" ... }`` entries of one object literal body."""
    found: dict[str, str] = {}
    pos = 0
    while True:
        m = _KEY.search(body, pos)
        if m is None:
            return found
        name = m.group(1) or m.group(2) or m.group(3)
        close = _match_brace(body, m.end() - 1)
        inner = body[m.end() - 1 : close + 1]
        dt = _DTYPE.search(inner)
        if dt is not None:
            found[name] = dt.group(1)
        pos = close + 1


def parse_registry(source: str) -> dict[str, str]:
    """Feature name → dtype word as written in the TypeScript file.

    Raises:
        RegistryParseError: no object literal with ``dtype`` entries was found.
    """
    src = _strip_comments(source)
    for m in re.finditer(r"=\s*\{", src):
        open_at = m.end() - 1
        body = src[open_at + 1 : _match_brace(src, open_at)]
        entries = _entries(body)
        if entries:
            return entries
    raise RegistryParseError(
        "no object literal with `dtype` entries (expected `export const ... = { name: { dtype: ... } }`)"
    )


def load_registry(path: Path) -> dict[str, str]:
    """Parse a registry file."""
    return parse_registry(path.read_text(encoding="utf-8"))


def compare(theirs_raw: dict[str, str], ours: dict[str, Dtype] | None = None) -> list[Drift]:
    """Every name or dtype that differs; dtype words are normalised through :data:`DTYPE_ALIASES`."""
    ours = dict(PROFILE_FEATURE_DTYPES) if ours is None else ours
    theirs = {k: DTYPE_ALIASES.get(v.lower(), v) for k, v in theirs_raw.items()}
    drifts = [Drift(name, ours.get(name), theirs.get(name)) for name in sorted(ours.keys() | theirs.keys())]
    return [d for d in drifts if d.ours != d.theirs]
