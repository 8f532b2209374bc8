"""``python -m invivo_pipeline`` is the ``invivo`` command, for machines where scripts are not on PATH."""

from invivo_pipeline.cli.main import app

app(prog_name="invivo")
