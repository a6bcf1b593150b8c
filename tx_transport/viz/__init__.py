"""Maps and charts: network, isochrones, comparisons, goal charts, and the interactive web map.

One module per figure family (:mod:`.network_map`, :mod:`.isochrone_maps`, :mod:`.change_map`,
:mod:`.goal_chart`, :mod:`.webmap`), the map furniture (scale bar, attribution, legends, label
placement, saving) in :mod:`.furniture`, fonts in :mod:`.fonts`, shared colours in :mod:`.style`.
``tx_transport.plot`` is kept as a compatibility alias of this package.

Every function takes ``ax=None`` (a new A4-wide figure is made when ``None``), draws and returns
the axes. Maps are drawn in :data:`tx_transport.geo.METRIC_CRS` (Albers equal-area, metres)
with an equal aspect, so distances and areas look right and the scale bar is exact to < 0.3 %.
Each map has a title, a legend or colourbar, a scale bar (lower left) and the data attribution
line (:data:`ATTRIBUTION`). Drawing is deterministic: the same inputs give the same PNG bytes
(save with :func:`save_figure`, which also strips the time stamps and writes atomically).

Labels are placed greedily in display coordinates (most important first; a label whose box would
overlap an already placed label, a marker, the legend, the scale bar or the attribution is
skipped). Placement is computed for the figure size at call time: resize the figure afterwards
and labels may collide.

Chinese labels (the ``cjk`` extra)
----------------------------------
Labels are English only unless a CJK font is available to matplotlib, so there is never a
"tofu" box. With a CJK font, place labels read "English 中文" (see :func:`label`). To get them,
either

- ``pip install -e ".[cjk]"`` (installs `mplfonts <https://pypi.org/project/mplfonts/>`_,
  which ships Noto Sans CJK SC and Source Han fonts; this module registers them by itself, and
  ``mplfonts init`` makes them the matplotlib default for your other plots too), or
- on Debian/Ubuntu ``apt-get install fonts-noto-cjk`` and, if matplotlib had already cached its
  font list, delete the cache (``rm -r ~/.cache/matplotlib``).

The fonts looked for, in order, are listed in :data:`CJK_FAMILIES` (Noto Sans CJK SC, Noto Sans
SC, Source Han Sans SC/CN, WenQuanYi, SimHei, Microsoft YaHei, PingFang SC, ...). A font is only
used if it really has the glyphs (checked on 桐乡). :func:`has_cjk_font` tells which case you are in.

Basemap tiles are optional (``basemap=True``): they need ``contextily`` and network access; when
either is missing a single warning is issued and the map is drawn without tiles.
"""

from __future__ import annotations

from .change_map import time_change_map
from .fonts import CJK_FAMILIES, cjk_font_family, has_cjk_font, label
from .furniture import add_attribution, add_scale_bar, save_figure
from .goal_chart import goal_chart
from .isochrone_maps import comparison_map, isochrone_map
from .layers import short_project_label
from .network_map import network_map
from .style import ATTRIBUTION, MODE_COLOURS
from .webmap import explore, save_map

__all__ = [
    "ATTRIBUTION",
    "CJK_FAMILIES",
    "MODE_COLOURS",
    "add_attribution",
    "add_scale_bar",
    "cjk_font_family",
    "comparison_map",
    "explore",
    "goal_chart",
    "has_cjk_font",
    "isochrone_map",
    "label",
    "network_map",
    "save_figure",
    "save_map",
    "short_project_label",
    "time_change_map",
]
