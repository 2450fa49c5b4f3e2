"""Register camera depth onto the RGB pixel grid: the one implementation lives in
:mod:`depthcur.schemas.registration` (render registers a camera profile's SGM depth the same way)."""

from depthcur.schemas.registration import is_identity_registration, register_depth_to_rgb

__all__ = ["register_depth_to_rgb", "is_identity_registration"]
