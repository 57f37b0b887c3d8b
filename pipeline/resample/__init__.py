"""Language resampling: per-language weights, a volume floor, deterministic draws by hash of the stable id."""
