"""Importers and exporters between dataset layouts and depthcur samples.

Each layout module offers ``find_items(root)`` (the units one task imports; ``LOOKS_FOR`` says what
they are), ``import_item(root, item)`` -> list of Samples, and ``export_sample(sample, out_root)``.
"""

from . import diode, eth3d, generic, ibims1, kitti, kitti_dc, lingbot, moge, nyuv2
from . import booster, middlebury2014
from . import cleargrasp, dreds, hammer, scannetpp, transcg

LAYOUTS = {"lingbot": lingbot, "moge": moge, "kitti": kitti, "kitti-dc": kitti_dc, "generic": generic,
           "middlebury2014": middlebury2014, "booster": booster,
           "nyuv2": nyuv2, "ibims1": ibims1, "diode": diode, "eth3d": eth3d,
           "cleargrasp": cleargrasp, "transcg": transcg, "hammer": hammer, "dreds": dreds, "scannetpp": scannetpp}

__all__ = ["LAYOUTS", "lingbot", "moge", "kitti", "kitti_dc", "generic", "middlebury2014", "booster",
           "nyuv2", "ibims1", "diode", "eth3d", "cleargrasp", "transcg", "hammer", "dreds", "scannetpp"]
