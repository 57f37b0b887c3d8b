"""`python -m deploy serve` on a random debug model, driven with the openai client: completions and chat, streamed and
not, stop sequences, end of turn, concurrent requests, bad requests answered 4xx while the server keeps serving."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.supervise import ServerProcess, free_port
from schemas.chatml import render_text

PROMPT = "def add(a, b):"


@pytest.fixture(scope="module")
def server(debug_model_dir, tmp_path_factory):
    logs = tmp_path_factory.mktemp("serve-log")
    # no hub cache folder: transformers serve's own /v1/models scans it (a 500 where it is missing); ours must not
    proc = ServerProcess(debug_model_dir, free_port(), log=logs / "serve.log", deadline_s=120, args=("--device", "cpu"),
                         env={"HF_HUB_CACHE": str(logs / "no-hub-cache")})
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    # no retries: a failed request must fail the test, not be tried again
    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def tokenizer(debug_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(debug_model_dir))


@pytest.fixture(scope="module")
def model(server):
    return server.model


def complete(client, model, prompt=PROMPT, **kw):
    return client.completions.create(model=model, prompt=prompt, temperature=0, **kw)


def streamed_text(stream, chat: bool) -> tuple[str, list]:
    chunks = list(stream)
    pieces = [(c.choices[0].delta.content if chat else c.choices[0].text) or "" for c in chunks if c.choices]
    return "".join(pieces), chunks


def test_models_lists_the_served_folder(client, model):
    listed = client.models.list().data
    assert [(m.id, m.object, m.owned_by) for m in listed] == [(model, "model", "deploy")] and listed[0].created > 0


def test_completion_returns_text_and_usage(client, model, tokenizer):
    r = complete(client, model, max_tokens=8)
    choice = r.choices[0]
    assert isinstance(choice.text, str) and choice.text
    assert r.usage.prompt_tokens == len(tokenizer(PROMPT)["input_ids"])
    assert 1 <= r.usage.completion_tokens <= 8
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert choice.finish_reason in ("length", "stop")


def test_chat_is_rendered_in_our_chatml(client, model, tokenizer):
    messages = [{"role": "system", "content": "You write Python."}, {"role": "user", "content": "Add two numbers."}]
    r = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0)
    assert r.choices[0].message.role == "assistant" and isinstance(r.choices[0].message.content, str)
    ours = render_text([messages[0], {"role": "human", "content": messages[1]["content"]}]) + "<|im_start|>bot\n"
    assert r.usage.prompt_tokens == len(tokenizer(ours)["input_ids"])  # user -> human, then the bot's turn opens
    assert 1 <= r.usage.completion_tokens <= 8


def test_chat_max_completion_tokens_limits_the_reply(client, model):
    # OpenAI's newer name for max_tokens; transformers serve 5.17 ignores it (1024 new tokens), the guard maps it
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], temperature=0,
                                       max_completion_tokens=3)
    assert 1 <= r.usage.completion_tokens <= 3


def test_streaming_completion_and_chat_match_the_whole_replies(client, model):
    whole = complete(client, model, max_tokens=12).choices[0].text
    text, chunks = streamed_text(complete(client, model, max_tokens=12, stream=True), chat=False)
    assert text == whole and len(chunks) > 2
    assert chunks[-1].usage.completion_tokens == 12

    messages = [{"role": "user", "content": "hi"}]
    chat_whole = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0)
    stream = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0,
                                            stream=True)
    text, chunks = streamed_text(stream, chat=True)
    assert text == chat_whole.choices[0].message.content and text
    assert chunks[-1].usage.completion_tokens == chat_whole.usage.completion_tokens


def _stop_inside(text: str) -> str:
    """A 3-character piece of text whose first occurrence is well inside it (so a cut there is visible)."""
    for start in range(len(text) // 3, len(text) - 3):
        piece = text[start:start + 3]
        if text.find(piece) > 0 and piece.strip():
            return piece
    pytest.fail(f"the model's greedy text {text!r} has no usable stop piece; pick another seed")


def test_stop_sequence_cuts_the_text_before_it(client, model):
    full = complete(client, model, max_tokens=24).choices[0].text
    stop = _stop_inside(full)
    expected = full[:full.find(stop)]
    r = complete(client, model, max_tokens=24, stop=[stop])
    assert r.choices[0].text == expected and r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens < 24  # generation itself ended there, not just the text
    text, chunks = streamed_text(complete(client, model, max_tokens=24, stop=[stop], stream=True), chat=False)
    assert text == expected and chunks[-1].choices[0].finish_reason == "stop"


def test_im_end_ends_a_chat_turn(client, model, tokenizer):
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=20,
                                       temperature=0, logit_bias={str(im_end): 100})
    # forced as the first token: the turn ends there (without it in eos_token_id, 20 tokens would be generated)
    assert r.usage.completion_tokens == 1 and r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == ""


def test_four_concurrent_requests_all_succeed(client, model):
    prompts = ["import os\n", "class Stack:", "for i in range(", "# sort a list\n"]
    alone = [complete(client, model, p, max_tokens=10).choices[0].text for p in prompts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: complete(client, model, p, max_tokens=10), prompts))
    assert [r.choices[0].text for r in together] == alone  # each got its own prompt's greedy text
    assert all(r.usage.completion_tokens >= 1 for r in together)


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_raw_streams_end_with_done(server, model):
    for route, body in (("completions", {"prompt": PROMPT}), ("chat/completions",
                                                               {"messages": [{"role": "user", "content": "hi"}]})):
        raw = json.dumps({"model": model, "max_tokens": 4, "temperature": 0, "stream": True, **body}).encode()
        request = urllib.request.Request(f"{server.url}/v1/{route}", data=raw,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            events = [e for e in r.read().decode().split("\n\n") if e.strip()]
        assert events[-1] == "data: [DONE]" and len(events) >= 3  # transformers serve 5.17 ends without it
        assert all(e.startswith("data: ") for e in events)


LONG = "x = 1\n" * 300  # 600+ tokens against a 256-token context


@pytest.mark.parametrize("route, body, status, reason", [
    ("completions", {"model": "someone/else", "prompt": PROMPT}, 400, "pinned"),
    ("completions", {"prompt": LONG, "max_tokens": 4}, 400, "context is 256 tokens"),
    ("completions", {"prompt": PROMPT, "max_tokens": 1000}, 400, "do not fit this model's context"),
    ("completions", {"prompt": PROMPT, "max_tokens": -3}, 400, "positive integer"),
    ("chat/completions", {"messages": [{"role": "user", "content": LONG}]}, 400, "context is 256 tokens"),
    ("chat/completions", {"messages": [{"role": "tool", "content": "x"}]}, 400, "role tool is not one of"),
    ("chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 1000}, 400,
     "max_completion_tokens is 1000"),
    ("completions", b'{"prompt": "def f(", "max_tokens": ', 422, "JSON decode error"),
])
def test_bad_request_gets_4xx_with_a_reason_then_the_server_still_serves(server, model, client, route, body,
                                                                         status, reason):
    raw = body if isinstance(body, bytes) else json.dumps({"model": model, **body}).encode()
    code, answer = post(f"{server.url}/v1/{route}", raw)
    assert code == status and reason in json.dumps(answer)
    assert complete(client, model, max_tokens=2).usage.completion_tokens >= 1


def test_without_max_tokens_generation_stops_at_the_context(client, model, tokenizer):
    prompt = "x = 1\n" * 40
    r = complete(client, model, prompt=prompt)
    assert r.usage.prompt_tokens + r.usage.completion_tokens <= 256


def test_sigterm_stops_the_server_cleanly(server):  # last: it ends the module's server
    assert server.stop() == 0
    assert "[serve] stopped (SIGTERM)" in server.log.read_text()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/health", timeout=2)
