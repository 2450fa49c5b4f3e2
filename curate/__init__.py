"""curate: pseudo-labels, LiDAR projection, importers/exporters, filters and shard building."""
