"""MetricAnything's teacher losses (§3.2, as DepthPro defines them), against hand-computed values:
robust MAE on real labels only, MAE + SSI-MAGE on rendered labels (decided by depth_gt_kind), MAD as
a median, a blur before each downsampling."""

from __future__ import annotations

import pytest
import torch

from depthcur.schemas import DepthGtKind, Source
from depthcur.train.losses import blur_downsample, prompt_loss, ssi_mage, ssi_normalize


def test_ssi_normalize_divides_by_the_median_absolute_deviation():
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 100.0]]])
    # median 3; |x - 3| = 2, 1, 0, 1, 97 whose median is 1 (their mean, 20.2, would let the outlier set the scale)
    out = ssi_normalize(x, torch.ones_like(x, dtype=torch.bool))
    assert out.flatten().tolist() == pytest.approx([-2.0, -1.0, 0.0, 1.0, 97.0])


def test_blur_downsample_spreads_a_delta_by_the_binomial_kernel_then_halves():
    x = torch.zeros(1, 5, 5)
    x[0, 2, 2] = 16.0
    out, valid = blur_downsample(x, torch.ones_like(x, dtype=torch.bool))
    # coarse (i, j) is fine (2i, 2j); taps [1, 4, 6, 4, 1] / 16 per axis
    expected = torch.tensor([[1 / 16, 6 / 16, 1 / 16],        # 16 * (1/16) * (1/16), 16 * (6/16) * (1/16)
                             [6 / 16, 36 / 16, 6 / 16],       # centre: 16 * (6/16) ** 2 = 2.25
                             [1 / 16, 6 / 16, 1 / 16]])
    torch.testing.assert_close(out[0], expected)
    assert valid.all()


def test_blur_downsample_marks_coarse_pixels_whose_taps_touch_an_invalid_pixel():
    valid = torch.ones(1, 5, 5, dtype=torch.bool)
    valid[0, 0, 0] = False
    out, coarse_valid = blur_downsample(torch.ones(1, 5, 5), valid)
    # fine (0,0) is within 2 pixels (the replicated border included) of fine (0,0), (0,2), (2,0), (2,2)
    assert coarse_valid[0].tolist() == [[False, False, True], [False, False, True], [True, True, True]]
    assert out[0][coarse_valid[0]].tolist() == pytest.approx([1.0] * 5)   # a constant stays constant
    assert out[0][~coarse_valid[0]].tolist() == [0.0] * 4


def test_ssi_mage_hand_value_on_a_3x3_ramp():
    rows, cols = torch.meshgrid(torch.arange(3.0), torch.arange(3.0), indexing="ij")
    valid = torch.ones(1, 3, 3, dtype=torch.bool)
    # both ramps normalise to index - 1 (median 1, MAD 1); Scharr at the centre: target (1, 0), pred (0, 1)
    assert ssi_mage(rows[None], cols[None], valid).item() == pytest.approx(2.0)
    assert ssi_mage(5.0 * cols[None] + 3.0, cols[None], valid).item() == pytest.approx(0.0, abs=1e-6)


def test_prompt_loss_robust_mae_on_real_labels_mae_on_rendered_ones():
    residual = torch.tensor([0.0, 0.1, 0.2, 0.3, 1.0])
    target = torch.ones(2, 1, 5)                       # 1 m: inverse depth 1
    pred = (1.0 / (1.0 + residual)).expand(2, 1, 5)    # inverse depth 1 + residual
    rendered = torch.tensor([False, True])
    loss = prompt_loss(pred, target, target > 0, rendered, alpha=15.0, beta=5.0)
    # real: the largest residual of 5 (floor(0.2 * 5) = 1) dropped, mean(0, .1, .2, .3) = 0.15 -> 15 * 0.15
    # rendered: every residual, mean 0.32 -> 15 * 0.32; SSI-MAGE needs 3x3 pixels, a 1x5 image has none
    assert loss.tolist() == pytest.approx([2.25, 4.8], rel=1e-5)


def test_prompt_loss_adds_ssi_mage_on_rendered_labels_only():
    rows, cols = torch.meshgrid(torch.arange(3.0), torch.arange(3.0), indexing="ij")
    target = 1.0 / (1.0 + cols)[None].expand(2, 3, 3)    # inverse depth 1 + column
    pred = 1.0 / (1.0 + rows)[None].expand(2, 3, 3)      # inverse depth 1 + row
    loss = prompt_loss(pred, target, target > 0, torch.tensor([False, True]), alpha=0.0, beta=5.0)
    assert loss.tolist() == pytest.approx([0.0, 5.0 * 2.0], rel=1e-5)   # SSI-MAGE of the two ramps: 2


@pytest.mark.parametrize("source, kind, rendered", [(Source.SIM, DepthGtKind.LIDAR, False),
                                                     (Source.REAL, DepthGtKind.RENDERED, True),
                                                     (Source.SIM, DepthGtKind.RENDERED, True)])
def test_rendered_is_decided_by_depth_gt_kind_not_by_the_source(source, kind, rendered):
    import numpy as np

    from depthcur.synthetic import make_sample
    from depthcur.train.augment import augment_sample
    from depthcur.train.config import load_config
    from depthcur.train.stages.base import collate

    sample = make_sample("synthetic/s000", height=40, width=50).replace(source=source, depth_gt_kind=kind)
    item = augment_sample(sample, load_config("tiny").data, (28, 42), np.random.default_rng(0))
    assert item.gt_rendered is rendered
    assert collate([item])["gt_rendered"].tolist() == [rendered]


def test_the_prediction_is_resized_to_the_ground_truth_in_inverse_depth():
    from depthcur.train.losses import prompt_loss_native

    pred = 1.0 / torch.tensor([[[1.0, 1.0], [3.0, 3.0]]])      # inverse depth rows 1 and 3, at 2 x 2
    gt = torch.full((1, 4, 4), 0.5)                              # inverse depth 2, at the dataset's 4 x 4
    loss = prompt_loss_native(pred, gt, torch.tensor([[4, 4]]), torch.tensor([True]), alpha=1.0, beta=0.0)
    # bilinear (half-pixel centres) rows of inverse depth: 1, 1.5, 2.5, 3 -> |residuals| 1, .5, .5, 1: mean 0.75
    assert loss.tolist() == pytest.approx([0.75], rel=1e-6)


def test_native_targets_pad_with_invalid_pixels_that_the_loss_ignores():
    import numpy as np

    from depthcur.train.augment import TrainItem
    from depthcur.train.losses import prompt_loss_native
    from depthcur.train.stages.base import native_targets

    def item(native):
        return TrainItem(rgb=np.zeros((3, 2, 2), np.float32), depth_raw=np.zeros((2, 2), np.float32),
                         depth_gt=np.zeros((2, 2), np.float32), K=None, gt_rendered=False, dataset="d", key="k",
                         depth_gt_native=native)

    small = np.array([[1.0, 2.0, 4.0]], np.float32)
    batch = native_targets([item(np.ones((3, 4), np.float32)), item(small)])
    assert batch["depth_gt_native"].shape == (2, 3, 4) and batch["native_shape"].tolist() == [[3, 4], [1, 3]]
    assert batch["depth_gt_native"][1].tolist() == [[1.0, 2.0, 4.0, 0.0], [0.0] * 4, [0.0] * 4]
    pred = torch.ones(2, 3, 4)
    loss = prompt_loss_native(pred, batch["depth_gt_native"], batch["native_shape"], torch.tensor([False, False]),
                              alpha=1.0, beta=0.0)
    # image 2: ones resized to 1 x 3 against inverse depths 1, 0.5, 0.25; floor(0.2 * 3) = 0 residuals dropped
    assert loss.tolist() == pytest.approx([0.0, (0.0 + 0.5 + 0.75) / 3], rel=1e-6)
