"""The three training stages: ``mdm``, ``prompt``, ``distill``."""

from .base import Stage, collate
from .distill import DistillStage, label_shards
from .mdm import MDMStage
from .prompt import PriorModel, PromptStage

STAGES = {"mdm": MDMStage, "prompt": PromptStage, "distill": DistillStage}

__all__ = ["Stage", "collate", "MDMStage", "PromptStage", "PriorModel", "DistillStage", "label_shards", "STAGES"]
