"""The special tokens, their fixed order (ids 0..n-1) and the pre-tokenizer pattern every tokenizer here uses."""
from __future__ import annotations

EOT = "<|endoftext|>"
PAD = "<|pad|>"
IM_START = "<|im_start|>"   # ChatML: <|im_start|>role\ncontent<|im_end|>\n with role system, human or bot
IM_END = "<|im_end|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_PAD = "<|fim_pad|>"

# Trained tokenizers give these ids 0..7 in this order (the trainer puts special tokens first).
SPECIAL_TOKENS = (EOT, PAD, IM_START, IM_END, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD)
# Ids left after training and keyword merges (at most a few hundred) become unused special tokens, so a tokenizer
# always has exactly its configured size.
RESERVED = "<|reserved_{}|>"
ROLES = ("system", "human", "bot")

# cl100k's split: letters with one leading non-letter, numbers in runs of at most 3, punctuation runs, newlines,
# whitespace. Han text has no spaces, so a Chinese clause is one piece and BPE learns multi-character words in it.
PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
           r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
