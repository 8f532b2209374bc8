"""A simulated Cytobank API v1 whose experiments analyse samples of the In Vivo simulator's world."""
