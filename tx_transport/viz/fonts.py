"""Fonts: bilingual labels ("Wuzhen 乌镇") by default, never "tofu" boxes.

The package ships a subset of Noto Sans CJK SC (``data/TxNotoSansSC-Subset.otf``, 1.6 MB, SIL Open
Font License 1.1, ``data/OFL.txt``): the 6,763 hanzi of GB 2312 and every character of the
network bundle. A full system CJK font (:data:`CJK_FAMILIES`, e.g. Debian's ``fonts-noto-cjk``)
is preferred when matplotlib knows one; the shipped subset is the fallback, so a fresh install
draws Chinese labels. A Chinese name with a character the chosen font lacks is left out of the
label (English only) rather than drawn as boxes. ``tools/build_cjk_font_subset.py`` rebuilds the
subset.
"""

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

BUNDLED_FONT = Path(__file__).resolve().parent / "data" / "TxNotoSansSC-Subset.otf"
"""The CJK font subset shipped with the package (SIL OFL 1.1)."""
BUNDLED_FAMILY = "TX Noto Sans SC Subset"


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


def _system_cjk_family() -> str | None:
    """A full CJK font matplotlib knows (system or ``mplfonts``), or ``None``."""
    _register_mplfonts()
    names = {f.name for f in font_manager.fontManager.ttflist}
    cands = [c for c in CJK_FAMILIES if c in names] + sorted(n for n in names if n.startswith("WenQuanYi") and n not in CJK_FAMILIES)
    return next((c for c in cands if _has_glyphs(c)), None)


def _bundled_family() -> str | None:
    """Register the shipped subset with matplotlib; its family name, or ``None`` if it is missing."""
    if not BUNDLED_FONT.is_file():
        return None
    if BUNDLED_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        with contextlib.suppress(Exception):
            font_manager.fontManager.addfont(str(BUNDLED_FONT))
    return BUNDLED_FAMILY if _has_glyphs(BUNDLED_FAMILY) else None


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """The CJK font family matplotlib will use for Chinese text, or ``None``.

    A full font of :data:`CJK_FAMILIES` (and any ``WenQuanYi*``) among the fonts matplotlib
    knows, after registering those of the optional ``mplfonts`` package; else the subset shipped
    with the package (:data:`BUNDLED_FAMILY`). The result is cached; call
    ``cjk_font_family.cache_clear()`` after installing a font in a running session.
    """
    return _system_cjk_family() or _bundled_family()


@lru_cache(maxsize=8)
def _charset(family: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        return frozenset(FT2Font(path).get_charmap())
    except Exception:
        return frozenset()


def covers(text: str) -> bool:
    """True when the CJK font in use has a glyph for every CJK character of ``text``."""
    fam = cjk_font_family()
    if fam is None:
        return not _CJK_CHARS.search(str(text))
    cs = _charset(fam)
    if not cs:  # a family matplotlib cannot open (e.g. named in a test): trust the caller's choice
        return True
    return all(ord(ch) in cs for ch in _CJK_CHARS.findall(str(text)))


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
    if _isblank(name_zh) or not has_cjk_font() or not covers(str(name_zh)):
        return en
    return f"{en} {name_zh}".strip()


_CJK_CHARS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")


class _NoBoldCJKNoise(logging.Filter):
    """Drop matplotlib's "Failed to find font weight bold for <CJK font>" log line: CJK fonts
    often ship one weight; Latin text stays bold (DejaVu Sans) and CJK glyphs fall back to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("findfont: Failed to find font weight") and any(f in msg for f in (*CJK_FAMILIES, BUNDLED_FAMILY)))


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


