"""The three training stages: ``mdm``, ``prompt``, ``distill``, and the one table naming them."""

from .base import Stage, collate
from .distill import DistillStage
from .mdm import MDMStage
from .prompt import PriorModel, PromptStage

STAGES: dict[str, type[Stage]] = {stage.name: stage for stage in (MDMStage, PromptStage, DistillStage)}


def stage_class(name: str) -> type[Stage]:
    """The stage class called ``name``; a clear error for any other name."""
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; use one of {', '.join(STAGES)}") from None


__all__ = ["Stage", "collate", "MDMStage", "PromptStage", "PriorModel", "DistillStage", "STAGES", "stage_class"]
