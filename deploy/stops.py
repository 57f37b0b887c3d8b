"""OpenAI's stop semantics over transformers serve's replies: the text ends before the first stop sequence.

transformers serve passes `stop` to generate() as stop_strings, which ends generation once a stop string is produced
but returns it (and whatever the last token holds past it). These helpers cut the text at the first stop sequence,
in a JSON reply and in a server-sent event stream, holding back streamed text that may be the start of one."""
from __future__ import annotations

import json


class StopTrimmer:
    """Feed text in order; get back what may be shown: nothing from the first stop sequence on."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""       # streamed text held back: it could be the start of a stop sequence
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        buffer = self.pending + text
        hits = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self.pending = True, ""
            return buffer[:min(hits)]
        hold = max((k for s in self.stops for k in range(1, len(s)) if buffer.endswith(s[:k])), default=0)
        self.pending = buffer[len(buffer) - hold:] if hold else ""
        return buffer[:len(buffer) - hold]

    def flush(self) -> str:
        """The held-back text once the generation has ended without completing a stop sequence."""
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


def _choice_text(choice: dict) -> tuple[dict, str] | None:
    """(the dict holding the text, its key) of a completion or chat choice, chunk or whole."""
    for holder in (choice, choice.get("message"), choice.get("delta")):
        if isinstance(holder, dict):
            for key in ("text", "content"):
                if isinstance(holder.get(key), str):
                    return holder, key
    return None


def trim_reply(reply: dict, stops: list[str]) -> dict:
    """A whole (non-streamed) completion or chat completion with each choice's text cut at its first stop."""
    for choice in reply.get("choices") or []:
        found = _choice_text(choice)
        if found:
            trimmer = StopTrimmer(stops)
            holder, key = found
            holder[key] = trimmer.feed(holder[key]) + trimmer.flush()
            if trimmer.stopped:
                choice["finish_reason"] = "stop"
    return reply


class EventStreamTrimmer:
    """Rewrites a server-sent event stream chunk by chunk: text cut at the first stop, held-back text released at the
    final chunk (the one with a finish_reason), events left empty by the cut dropped, and OpenAI's closing
    `data: [DONE]` added (transformers serve ends the stream without it)."""

    def __init__(self, stops: list[str]):
        self.trimmer = StopTrimmer(stops)
        self.buffer = ""

    def feed(self, chunk: str) -> str:
        self.buffer += chunk
        *events, self.buffer = self.buffer.split("\n\n")
        return "".join(self._event(e) for e in events)

    def close(self) -> str:
        rest = self.feed("\n\n") if self.buffer.strip() else ""
        return rest + "data: [DONE]\n\n"

    def _event(self, event: str) -> str:
        if not event.startswith("data: "):
            return event + "\n\n" if event.strip() else ""
        try:
            data = json.loads(event[len("data: "):])
        except json.JSONDecodeError:
            return event + "\n\n"
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            return event + "\n\n"
        choice = choices[0]
        found = _choice_text(choice)
        final = choice.get("finish_reason") is not None
        text = self.trimmer.feed(found[0][found[1]]) if found else ""
        if final:
            text += self.trimmer.flush()
            if self.trimmer.stopped:
                choice["finish_reason"] = "stop"
        if found:
            found[0][found[1]] = text
        elif text:  # a chat stream's final chunk has an empty delta
            choice.setdefault("delta", {})["content"] = text
        if found and not text and not final and not (choice.get("delta") or {}).get("role"):
            return ""  # all of it held back or cut: nothing to show yet
        return "data: " + json.dumps(data, separators=(",", ":")) + "\n\n"
