"""Training: the one loop (trainer), checkpoints, processes under torchrun, the
hardware's precision, memory checks, signals and the run's logs."""
