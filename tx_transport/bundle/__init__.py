"""Read and validate a network bundle (the files of ``networks/``).

A bundle is a folder of open-format files that a planner edits in QGIS or a text editor; its
format is documented in ``networks/README.md``. Every file has a schema (pydantic v2 models, one
module per file: :mod:`.places` (places.csv, bundle.yaml), :mod:`.modes`, :mod:`.profiles`,
:mod:`.rail` (rail.yaml, rail_segments.geojson), :mod:`.projects` (expressways, trunk roads,
waterways), :mod:`.roads`, :mod:`.zones` (boundaries, urban areas, census zones),
:mod:`.transit` (transit.yaml, services.yaml), :mod:`.scenarios`, :mod:`.goals`).
:func:`read_bundle` composes them and collects every problem; it raises one
:class:`BundleErrors` (a :class:`~tx_transport.errors.NetworkDataError`) listing them all, or
returns the :class:`Bundle` the rest of the package reads. :func:`validate` returns the list.
"""

from .base import ALWAYS_ON_PROJECTS, DEFAULT_AREA, DEFAULT_BUNDLE, Bundle
from .problems import BundleErrors, Problem
from .read import check_bundle, read_bundle, validate

__all__ = ["ALWAYS_ON_PROJECTS", "DEFAULT_AREA", "DEFAULT_BUNDLE", "Bundle", "BundleErrors", "Problem", "check_bundle", "read_bundle",
           "validate"]
