"""What gankit writes: files written whole or not at all, samples, exported generators."""
