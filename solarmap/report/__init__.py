"""Outputs a person opens: the map, the CSV/GeoPackage/GeoParquet exports and the summary."""
