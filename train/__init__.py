"""train: MDM, sparse-prompt pretraining and distillation."""
