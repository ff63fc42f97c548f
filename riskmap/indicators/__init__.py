"""Indicator catalogue, indicator values, composite scores and disclosure control."""
