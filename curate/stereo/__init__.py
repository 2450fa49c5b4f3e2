"""Stereo pseudo-labels: a matcher interface, the swap-and-flip LR check, depth = fx·B/d.

``match_pair(left, right, matcher="sgbm", **params) -> (disparity_px, valid)`` is the public
entry point; :mod:`.pseudo_label` turns a whole sample's IR pair into ``depth_gt``.
"""

from .consistency import lr_consistent_mask, right_disparity_by_swap_flip
from .matchers import MATCHERS, StereoMatch, match_pair, match_with_lr_check, raw_disparity
from .pseudo_label import PseudoLabelConfig, disparity_to_depth, pseudo_label_sample

__all__ = ["match_pair", "match_with_lr_check", "StereoMatch", "raw_disparity", "MATCHERS", "lr_consistent_mask", "right_disparity_by_swap_flip",
           "PseudoLabelConfig", "disparity_to_depth", "pseudo_label_sample"]
