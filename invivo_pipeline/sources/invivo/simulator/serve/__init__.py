"""The fake In Vivo HTTP API over a generated world: routes, auth, paging, filters, faults."""
