"""The theory's quantities: divergences and mutual-information estimators."""
