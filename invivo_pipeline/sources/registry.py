"""Every source of the code location, one line each. ``definitions.py`` assembles them; the
warehouse's catalog learns every source's tables from here, so each file carries all of them."""

from invivo_pipeline.assets.source import Source
from invivo_pipeline.sources.cytobank.source import SOURCE as CYTOBANK
from invivo_pipeline.sources.invivo.source import SOURCE as INVIVO
from invivo_pipeline.warehouse import catalog

SOURCES: tuple[Source, ...] = (
    INVIVO,
    CYTOBANK,
)

for _source in SOURCES:
    catalog.register(_source.tables)
