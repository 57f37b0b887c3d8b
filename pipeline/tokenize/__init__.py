"""Tokenization into packed token shards: FIM, ChatML loss masks, packing, and the Spark job writing the shards."""
