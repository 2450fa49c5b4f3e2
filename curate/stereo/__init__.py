"""Stereo pseudo-labels: a matcher interface, the swap-and-flip LR check, depth = fx·B/d.

The SGBM matcher, the LR check and fx·B/d are :mod:`depthcur.core.stereo` (shared with render's
sensor simulation); here are curate's SGBM preset, the backends and the pseudo-label filters.

``match_pair(left, right, matcher="sgbm", **params) -> (disparity_px, valid)`` is the public
entry point; :mod:`.pseudo_label` turns a whole sample's IR pair into ``depth_gt``.
"""

from .matchers import MATCHERS, PseudoLabelSgbm, StereoMatch, match_pair, match_with_lr_check, raw_disparity
from .pseudo_label import PseudoLabelConfig, pseudo_label_sample

__all__ = ["match_pair", "match_with_lr_check", "StereoMatch", "raw_disparity", "MATCHERS", "PseudoLabelSgbm",
           "PseudoLabelConfig", "pseudo_label_sample"]
