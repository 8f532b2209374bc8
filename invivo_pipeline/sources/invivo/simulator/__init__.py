"""A local stand-in for the Benchling In Vivo API, serving a synthetic but realistic tenant.

The client, the pipeline and the benchmarks run against it instead of the real service: the same
routes (generated from ``sources.invivo.table``), the same JSON shapes, OAuth, pagination and
filters, plus the faults a production client must survive. Two jobs, two packages:

- ``generate``: the tenant (``tenant``, ``design``, ``study_sim``) and its records (``shapes``,
  ``records``), and how it advances in time; pure Python, no web framework, deterministic from
  ``WorldConfig``;
- ``serve``: the fake HTTP API: ``query``, ``filters`` and ``envelope`` answer one GET from the
  world; ``app`` (FastAPI), ``auth``, ``faults`` and ``stats`` serve it; ``server`` runs it.
"""
