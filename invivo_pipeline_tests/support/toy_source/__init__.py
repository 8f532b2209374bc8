"""A test-only third source, proof of the seam: a tiny API of gauges and their readings, served
by a stub on loopback, loaded through the same raw-tables step, checks and warehouse code as In
Vivo and Cytobank. Nothing outside this folder names it; a test registers it in one line,
``definitions_for((*SOURCES, TOY))``."""
