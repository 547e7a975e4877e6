"""Numbers in summary text: one formatter for every printed value, and the parser that checks an LLM
rephrase kept them (`numbers_kept`).

RU: decimal comma, no-break-space thousands ("1 234,5"); EN: decimal point, comma thousands
("1,234.5"). Negative values use the minus sign "−" in both.
"""

from __future__ import annotations

import math
import re

from train.forecast import finite_number

MINUS = "\u2212"
NBSP = "\u00a0"
_NUMBER = re.compile(r"(?<![\w.,])[+\-\u2212]?\d{1,3}(?:[,\u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\w)"
                     r"|(?<![\w.,])[+\-\u2212]?\d+(?:[.,]\d+)?")
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)  # "1. " at a line start: enumeration, not data


def fmt(x: float, decimals: int, locale: str, sign: bool = False) -> str:
    """x rounded to `decimals`, in the locale's notation; `sign` prints "+" for positive values."""
    r = round(float(x), decimals)
    if r == 0:
        r = 0.0  # no "−0"
    s = f"{abs(r):,.{decimals}f}"
    if locale == "ru":
        s = s.replace(",", NBSP).replace(".", ",")
    if r < 0:
        s = MINUS + s
    elif sign and r > 0:
        s = "+" + s
    return s


def pct_decimals(x: float) -> int:
    """Percent changes: one decimal under 10 %, none above (12 %, 4.5 %)."""
    return 1 if abs(x) < 10 else 0


def extract(text: str, locale: str) -> list[float]:
    """Every number written in `text` (sign included), in the locale's notation; list markers ignored."""
    text = _LIST_MARKER.sub(" ", text)
    out = []
    for m in _NUMBER.finditer(text):
        s = m.group(0).replace(MINUS, "-")
        if locale == "ru":
            s = s.replace(NBSP, "").replace("\u202f", "").replace(",", ".")
        else:
            s = s.replace(",", "").replace(NBSP, "").replace("\u202f", "")
        try:
            out.append(float(s))
        except ValueError:
            continue
    return out


def numbers_kept(source: str, reply: str, locale: str) -> str | None:
    """None when `reply` writes exactly the numbers of `source` (as a set of magnitudes, and no number
    negative that was not negative); else the reason it does not."""
    src, rep = extract(source, locale), extract(reply, locale)
    src_abs, rep_abs = {abs(v) for v in src}, {abs(v) for v in rep}
    added = sorted(rep_abs - src_abs)
    if added:
        return f"the reply has numbers that the template text does not: {added[:5]}"
    dropped = sorted(src_abs - rep_abs)
    if dropped:
        return f"the reply dropped numbers of the template text: {dropped[:5]}"
    flipped = sorted({v for v in rep if v < 0} - {v for v in src if v < 0})
    if flipped:
        return f"the reply made numbers negative: {flipped[:5]}"
    return None


finite = finite_number  # a finite float, or None (the forecast's own helper)
