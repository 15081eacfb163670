"""Readers: footprints, heights, categories, subdistrict outlines, weather."""
