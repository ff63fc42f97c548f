"""Hotspots, grids and models over the scores."""
