"""The debug flavor exported as a Hugging Face folder with a small byte-level BPE: the harness's test model."""
import sysconfig
from pathlib import Path

EOS = "<|endoftext|>"
CHAT_TOKENS = ["<|im_start|>", "<|im_end|>"]


def train_tokenizer(out: Path) -> Path:
    """A byte-level BPE trained in a second on a few stdlib sources, saved as transformers saves it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [str(stdlib / name) for name in ("textwrap.py", "shlex.py", "fnmatch.py", "bisect.py")]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=[EOS, *CHAT_TOKENS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(files, trainer)
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS,
                            additional_special_tokens=CHAT_TOKENS).save_pretrained(out)
    return out


def tiny_hf_model(out: Path, seed: int = 0) -> Path:
    """model.FLAVORS['debug'] (2 layers, hidden 64, context 256), randomly initialised, exported with export_hf."""
    import torch
    from transformers import AutoTokenizer

    from model import FLAVORS, GPTNeoX, export_hf

    tok_dir = train_tokenizer(out.parent / f"{out.name}-tokenizer")
    vocab = len(AutoTokenizer.from_pretrained(tok_dir))
    torch.manual_seed(seed)
    model = GPTNeoX(FLAVORS["debug"].replace(vocab_size=vocab)).eval()
    return export_hf(model, out, tokenizer_dir=tok_dir)
