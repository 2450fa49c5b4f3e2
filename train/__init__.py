"""train: MDM, sparse-prompt pretraining and distillation.

``depthcur.train.load_model(path)`` loads a released LingBot-Depth checkpoint or a depthcur run
(imported on first use, so importing the package stays free of torch)."""


def __getattr__(name: str):
    if name == "load_model":
        from .load import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["load_model"]
