"""Report builders: pure functions from the warehouse to tables and figures."""
