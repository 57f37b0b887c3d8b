"""Generation from an exported checkpoint: seeded reruns match, n samples per prompt, stop sequences end it early."""
import re

import pytest

from evaluation import benchmarks
from evaluation.config import EvalSettings, SettingsError
from evaluation.generate import complete, load
from evaluation.stops import stops_for

PROMPTS = [p.prompt for p in benchmarks.load("humaneval", limit=3)]


@pytest.fixture(scope="module")
def loaded(tiny_model):
    return load(tiny_model)


@pytest.mark.parametrize("settings", [
    EvalSettings(max_new_tokens=12, progress=False),
    EvalSettings(mode="sample", n=3, max_new_tokens=12, batch_size=4, progress=False),
    EvalSettings(mode="beam", n=2, num_beams=2, max_new_tokens=12, progress=False),
])
def test_each_mode_gives_n_completions_and_reruns_are_identical(loaded, settings):
    model, tok = loaded
    first = complete(model, tok, PROMPTS, stops_for("python"), settings)
    assert [len(c) for c in first] == [settings.n] * len(PROMPTS)
    assert all(isinstance(t, str) and not any(s in t for s in stops_for("python")) for c in first for t in c)
    assert complete(model, tok, PROMPTS, stops_for("python"), settings) == first


def test_sampling_depends_on_the_seed(loaded):
    model, tok = loaded
    a = complete(model, tok, PROMPTS, (), EvalSettings(mode="sample", n=2, max_new_tokens=12, progress=False))
    b = complete(model, tok, PROMPTS, (), EvalSettings(mode="sample", n=2, max_new_tokens=12, seed=7,
                                                       progress=False))
    assert a != b


def test_a_stop_sequence_ends_generation_early(loaded):
    model, tok = loaded
    settings = EvalSettings(max_new_tokens=40, progress=False)
    free = complete(model, tok, PROMPTS[:1], (), settings)[0][0]
    word = re.search(r"[A-Za-z]{3,}", free[3:])  # a word the model is known to produce after a few characters
    assert word, free
    stop = word.group()[:3]
    lengths = []
    original = model.generate

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        lengths.append(out.shape[1] - kwargs["input_ids"].shape[1])
        return out

    model.generate = recording
    try:
        cut = complete(model, tok, PROMPTS[:1], (stop,), settings)[0][0]
    finally:
        del model.generate
    assert free.startswith(cut) and stop not in cut and len(cut) < len(free)
    assert lengths[0] < settings.max_new_tokens


def test_settings_name_the_bad_key():
    with pytest.raises(SettingsError, match="unknown setting"):
        EvalSettings.from_kwargs(temprature=0.2)
    with pytest.raises(SettingsError, match="greedy decoding gives one completion"):
        EvalSettings.from_kwargs(n=5)
    with pytest.raises(SettingsError, match="every k must be between 1 and n=10"):
        EvalSettings.from_kwargs(mode="sample", n=10, k="1,100")
