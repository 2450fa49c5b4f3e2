"""Derived exports: DepthLM-style VQA and FocusDepth (FDE) image–target–depth triplets."""
