"""Build the CJK font subset shipped in ``tx_transport/viz/data`` (re-runnable).

The package draws bilingual labels ("Wuzhen 乌镇") on a fresh machine, with no system CJK font,
from a subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1, see ``OFL.txt`` beside the
font): every character of GB 2312 (6,763 hanzi and its symbols: the common simplified Chinese
characters), every non-ASCII character used in the network bundle (``networks/``), and printable
ASCII. The family is renamed "TX Noto Sans SC Subset" so it never shadows a full Noto install
(a Modified Version under the OFL; Noto's only Reserved Font Name, "Source", is not used).

Usage (needs fontTools, a dependency of matplotlib, and the source font, e.g. Debian's
``fonts-noto-cjk``)::

    python tools/build_cjk_font_subset.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tx_transport" / "viz" / "data" / "TxNotoSansSC-Subset.otf"
FAMILY = "TX Noto Sans SC Subset"
PS_NAME = "TXNotoSansSCSubset-Regular"


def gb2312_chars() -> str:
    out = []
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                out.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(out)


def bundle_chars() -> str:
    chars: set[str] = set()
    for p in (ROOT / "networks").rglob("*"):
        if p.suffix in {".csv", ".yaml", ".yml", ".geojson", ".md"} and p.is_file():
            chars |= set(re.findall(r"[^\x00-\x7f]", p.read_text(encoding="utf-8", errors="ignore")))
    return "".join(sorted(chars))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                    help="Noto Sans CJK Regular (.ttc collection or NotoSansCJKsc-Regular.otf)")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    src = Path(a.source)
    number = 0
    if src.suffix.lower() == ".ttc":
        names = [f["name"].getDebugName(1) for f in TTCollection(str(src)).fonts]
        number = names.index("Noto Sans CJK SC")
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + gb2312_chars() + bundle_chars()
    opts = subset.Options()
    opts.font_number = number
    opts.layout_features = ["vert", "vrt2"]  # no shaping needed for horizontal Chinese labels
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14, 16, 17]
    opts.notdef_outline = True
    opts.hinting = False
    font = subset.load_font(str(src), opts)
    sub = subset.Subsetter(opts)
    sub.populate(text=text)
    sub.subset(font)
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            rec.string = FAMILY
        elif rec.nameID == 4:
            rec.string = FAMILY + " Regular"
        elif rec.nameID == 6:
            rec.string = PS_NAME
        elif rec.nameID == 3:
            rec.string = "tx-transport subset of " + str(rec.toUnicode())
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [PS_NAME]
        top = cff.topDictIndex[0]
        top.FullName, top.FamilyName = FAMILY + " Regular", FAMILY
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    subset.save_font(font, str(tmp), opts)
    tmp.replace(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {len(set(text))} characters requested) from {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
