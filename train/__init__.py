"""DeepSpeed training of the model on token shards: config, data, schedule, checkpoints, metrics, loop, launch."""
