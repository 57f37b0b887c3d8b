"""An ASGI layer in front of transformers serve: what it does not check, checked with a 400 and a reason.

transformers serve already answers malformed JSON (422, the parser's message), a model other than the pinned one
(400) and unknown fields (422). It does not check the context: a prompt longer than the model's context, or
prompt + max_tokens past it, is generated from anyway (positions past the trained ones), and without max_tokens it
asks for 1024 new tokens whatever the context. This layer counts the prompt's tokens as the handler will render them,
refuses what does not fit, and fills in max_tokens = context - prompt when it is not given (vLLM's rule); a chat's
max_completion_tokens (OpenAI's newer name, which transformers serve 5.17 ignores) is passed on as max_tokens. It also
applies OpenAI's stop semantics to the replies (deploy/stops.py) and passes logit_bias values as floats (its
logits processor refuses integers with a 500)."""
from __future__ import annotations

import json

from deploy.stops import EventStreamTrimmer, trim_reply

ROUTES = {"/v1/completions": "completion", "/v1/chat/completions": "chat"}


class BadRequest(ValueError):
    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


class Guard:
    """ASGI middleware: app is transformers serve's FastAPI app, tokenizer the served model's, context_tokens its
    max_position_embeddings, model_id the name requests must use (what the server was pinned to)."""

    def __init__(self, app, tokenizer, context_tokens: int, model_id: str):
        self.app, self.tokenizer, self.context_tokens, self.model_id = app, tokenizer, context_tokens, model_id

    async def __call__(self, scope, receive, send):
        route = ROUTES.get(scope.get("path")) if scope["type"] == "http" and scope.get("method") == "POST" else None
        if route is None:
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        try:
            request = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            request = None
        if not isinstance(request, dict) or request.get("model", self.model_id) != self.model_id:
            # malformed JSON and other models: transformers serve's own 422 / 400, with its reason
            return await self.app(scope, _replay(body, receive), send)
        try:
            stops = self.check(route, request)
        except BadRequest as e:
            return await _send_json(send, 400, {"error": {"message": str(e), "type": "invalid_request_error",
                                                          "param": e.param, "code": None}})
        body = json.dumps(request).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        if request.get("stream"):
            send = _streamed(send, EventStreamTrimmer(stops))
        elif stops:
            send = _trimmed_json(send, stops)
        await self.app(scope, _replay(body, receive), send)

    def check(self, route: str, request: dict) -> list[str]:
        """Refuse what transformers serve would get wrong (BadRequest), set max_tokens where it is missing (the
        request is changed in place); returns the stop sequences."""
        stop = request.get("stop")
        stops = [stop] if isinstance(stop, str) else stop if stop is not None else []
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise BadRequest("stop must be a non-empty string or a list of non-empty strings", "stop")
        _check_logit_bias(request)
        prompt = self.prompt_tokens(route, request)
        if prompt is None:
            return stops
        context = self.context_tokens
        if prompt >= context:
            raise BadRequest(f"the prompt is {prompt} tokens; this model's context is {context} tokens, which must "
                             f"hold the prompt and at least one generated token", "messages" if route == "chat"
                             else "prompt")
        key = "max_completion_tokens" if route == "chat" and request.get("max_completion_tokens") is not None \
            else "max_tokens"
        wanted = request.pop(key, None) if key == "max_completion_tokens" else request.get(key)
        if wanted is None:
            wanted = context - prompt
        elif isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
            raise BadRequest(f"{key} must be a positive integer, got {wanted!r}", key)
        elif prompt + wanted > context:
            raise BadRequest(f"the prompt is {prompt} tokens and {key} is {wanted}: {prompt + wanted} tokens do not "
                             f"fit this model's context of {context} tokens (ask for at most {context - prompt})",
                             key)
        # transformers serve 5.17 reads max_tokens only (max_completion_tokens is ignored with a warning)
        request["max_tokens"] = wanted
        return stops

    def prompt_tokens(self, route: str, request: dict) -> int | None:
        """The prompt's length in tokens as the handler will tokenize it; None where transformers serve refuses the
        request itself (a prompt that is not a string)."""
        if route == "completion":
            prompt = request.get("prompt", "")
            if not isinstance(prompt, str):
                return None
            if not prompt:
                raise BadRequest("prompt is empty: give at least one character to continue", "prompt")
            return len(self.tokenizer(prompt)["input_ids"])
        return len(self._chat_ids(request))

    def _chat_ids(self, request: dict) -> list[int]:
        from jinja2 import TemplateError
        from transformers.cli.serving.utils import BaseHandler, Modality

        messages = request.get("messages")
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and "role" in m for m in messages):
            raise BadRequest("messages must be a non-empty list of {role, content} objects", "messages")
        kwargs = request.get("chat_template_kwargs")
        try:
            rendered = BaseHandler.get_processor_inputs_from_messages(messages, Modality.LLM)
            ids = self.tokenizer.apply_chat_template(rendered, add_generation_prompt=True, tokenize=True,
                                                     return_dict=True, **(kwargs if isinstance(kwargs, dict) else {}))
        except TemplateError as e:  # the template's own refusal, e.g. a role the model was not trained on
            raise BadRequest(f"messages: {e}", "messages") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadRequest(f"messages are malformed ({type(e).__name__}: {e})", "messages") from None
        return list(ids["input_ids"])


def _check_logit_bias(request: dict) -> None:
    """OpenAI's logit_bias maps token ids to numbers in [-100, 100], usually integers; transformers serve hands them
    to generate() as they are and its SequenceBiasLogitsProcessor refuses integers (a 500): made floats here."""
    bias = request.get("logit_bias")
    if bias is None:
        return
    if not isinstance(bias, dict):
        raise BadRequest("logit_bias must map token ids to numbers in [-100, 100]", "logit_bias")
    for token, value in bias.items():
        if not str(token).isdigit() or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not -100 <= value <= 100:
            raise BadRequest(f"logit_bias {{{token!r}: {value!r}}}: keys are token ids, values numbers in "
                             f"[-100, 100]", "logit_bias")
    request["logit_bias"] = {token: float(value) for token, value in bias.items()}


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    """An ASGI receive that gives the (possibly rewritten) body once, then the connection's own messages (a client
    that goes away still cancels its generation)."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed


async def _send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _is_event_stream(message: dict) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"])


def _streamed(send, trimmer: EventStreamTrimmer):
    """An ASGI send that rewrites a text/event-stream body with trimmer; other replies (errors) pass unchanged."""
    active = False

    async def wrapped(message):
        nonlocal active
        if message["type"] == "http.response.start":
            active = message["status"] == 200 and _is_event_stream(message)
        elif message["type"] == "http.response.body" and active:
            text = trimmer.feed(message.get("body", b"").decode())
            if not message.get("more_body"):
                text += trimmer.close()
            message = {**message, "body": text.encode()}
        await send(message)
    return wrapped


def _trimmed_json(send, stops: list[str]):
    """An ASGI send that buffers a 200 JSON reply and cuts its choices' text at the first stop sequence."""
    start, chunks = None, []

    async def wrapped(message):
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] == 200:
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = json.dumps(trim_reply(json.loads(b"".join(chunks)), stops)).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return wrapped
