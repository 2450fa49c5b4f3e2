"""LiDAR projection (MetricAnything §3.1): point clouds + calibration -> sparse depth, and a
virtual n-line LiDAR sampled from dense depth."""

from .calib import LidarCalib, read_calib, read_json_calib, read_kitti_calib
from .points import read_points
from .projection import backproject_depth, project_points
from .virtual import VirtualLidarConfig, virtual_lidar

__all__ = ["LidarCalib", "read_calib", "read_json_calib", "read_kitti_calib", "read_points",
           "backproject_depth", "project_points", "VirtualLidarConfig",
           "virtual_lidar"]
