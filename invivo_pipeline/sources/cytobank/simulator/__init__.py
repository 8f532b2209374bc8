"""A local stand-in for Cytobank API v1, its account derived from the In Vivo simulator's world so
that flow files name real samples."""
