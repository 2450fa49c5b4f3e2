"""Importers and exporters between dataset layouts and depthcur samples.

Each layout module offers ``find_items(root)`` (the units one task imports; ``LOOKS_FOR`` says what
they are), ``import_item(root, item)`` -> list of Samples, and ``export_sample(sample, out_root)``.
"""

from . import generic, kitti, lingbot, moge

LAYOUTS = {"lingbot": lingbot, "moge": moge, "kitti": kitti, "generic": generic}

__all__ = ["LAYOUTS", "lingbot", "moge", "kitti", "generic"]
