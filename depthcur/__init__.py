"""depthcur: render, capture, curate, shard, train and evaluate metric RGB-D depth models."""

__version__ = "0.1.0"
