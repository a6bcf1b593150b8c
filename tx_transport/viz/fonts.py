"""Fonts: Chinese (CJK) glyphs when a font has them, English otherwise (never "tofu" boxes)."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from matplotlib import font_manager

CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Serif CJK SC", "Source Han Serif SC",
    "Noto Sans Mono CJK SC", "Source Han Mono SC",
)
"""CJK font families looked for, in order of preference."""



# ---------------------------------------------------------------------------------------------- fonts
def _register_mplfonts() -> None:
    """Register the fonts shipped by the optional ``mplfonts`` package (without importing it)."""
    try:
        spec = importlib.util.find_spec("mplfonts")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    for loc in spec.submodule_search_locations:
        for p in sorted(Path(loc, "fonts").glob("*.[ot]t[fc]")):
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(str(p))


def _has_glyphs(family: str, text: str = "桐乡") -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        font = FT2Font(path)
        return all(font.get_char_index(ord(ch)) != 0 for ch in text)
    except Exception:
        return False


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """The CJK font family matplotlib will use for Chinese text, or ``None``.

    Looks for :data:`CJK_FAMILIES` (and any ``WenQuanYi*``) among the fonts matplotlib knows,
    after registering the fonts of the optional ``mplfonts`` package. The result is cached; call
    ``cjk_font_family.cache_clear()`` after installing a font in a running session.
    """
    _register_mplfonts()
    names = {f.name for f in font_manager.fontManager.ttflist}
    cands = [c for c in CJK_FAMILIES if c in names] + sorted(n for n in names if n.startswith("WenQuanYi") and n not in CJK_FAMILIES)
    return next((c for c in cands if _has_glyphs(c)), None)


def has_cjk_font() -> bool:
    """True when a font with Chinese glyphs is available, so labels can be bilingual."""
    return cjk_font_family() is not None


def _isblank(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, str) and not x.strip())


def label(name_en: str, name_zh: str | None = None) -> str:
    """A display label: ``"English 中文"`` when a CJK font is present, else ``"English"``.

    Parameters
    ----------
    name_en : str
        English name.
    name_zh : str, optional
        Chinese name; ignored (never drawn as tofu) when no CJK font is available.

    Returns
    -------
    str
    """
    en = "" if _isblank(name_en) else str(name_en)
    if _isblank(name_zh) or not has_cjk_font():
        return en
    return f"{en} {name_zh}".strip()


_CJK_CHARS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


class _NoBoldCJKNoise(logging.Filter):
    """Drop matplotlib's "Failed to find font weight bold for <CJK font>" log line: CJK fonts
    often ship one weight; Latin text stays bold (DejaVu Sans) and CJK glyphs fall back to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("findfont: Failed to find font weight") and any(f in msg for f in CJK_FAMILIES))


_FONT_LOG_FILTER = _NoBoldCJKNoise()


def _font_kw(*texts: str) -> dict[str, Any]:
    """Font family for texts: DejaVu Sans with the CJK font as glyph fallback when a text has CJK."""
    fam = cjk_font_family()
    if not fam or not any(_CJK_CHARS.search(str(t)) for t in texts):
        return {}
    logging.getLogger("matplotlib.font_manager").addFilter(_FONT_LOG_FILTER)  # idempotent
    return {"fontfamily": ["DejaVu Sans", fam]}


def _legend_prop(size: float, handles: Iterable[Any] = ()) -> dict[str, Any]:
    kw = _font_kw(*(h.get_label() for h in handles))
    return {"size": size, **({"family": kw["fontfamily"]} if kw else {})}


