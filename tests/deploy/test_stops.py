"""OpenAI stop semantics: text cut before the first stop sequence, in whole replies and across streamed chunks."""
import json

from deploy.stops import EventStreamTrimmer, StopTrimmer, trim_reply


def test_trimmer_holds_back_a_possible_stop_start_across_chunks():
    t = StopTrimmer(["STOP", "\n\n"])
    assert t.feed("abc ST") == "abc "     # "ST" may begin STOP: held
    assert t.feed("OR") == "STOR"         # "STOR" cannot become STOP: released
    assert t.feed("x\n") == "x"           # "\n" may begin "\n\n"
    assert t.feed("\ny") == "" and t.stopped
    t2 = StopTrimmer(["STOP"])
    assert [t2.feed(x) for x in ("x S", "T", "OP tail", "more")] == ["x ", "", "", ""]
    assert t2.stopped and t2.flush() == ""


def test_trimmer_releases_held_text_when_no_stop_comes():
    t = StopTrimmer(["END"])
    assert t.feed("value E") == "value "
    assert t.feed("N") == ""
    assert t.flush() == "EN" and not t.stopped


def test_earliest_of_several_stops_wins():
    t = StopTrimmer(["bb", "a"])
    assert t.feed("xxbbya") == "xx"


def test_whole_reply_is_cut_and_marked_stopped():
    completion = {"choices": [{"text": "def f():\n    return 1\nclass", "finish_reason": "length"}]}
    assert trim_reply(completion, ["\nclass"])["choices"][0] == {"text": "def f():\n    return 1",
                                                                 "finish_reason": "stop"}
    chat = {"choices": [{"message": {"role": "assistant", "content": "no stop here"}, "finish_reason": "length"}]}
    assert trim_reply(chat, ["zzz"])["choices"][0]["finish_reason"] == "length"


def sse(data) -> str:
    return "data: " + json.dumps(data) + "\n\n"


def events(stream: str) -> list:
    return [e[len("data: "):] for e in stream.split("\n\n") if e]


def test_event_stream_is_cut_and_closed_with_done():
    chunks = [sse({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
              sse({"choices": [{"index": 0, "delta": {"content": "x = 1"}}]}),
              sse({"choices": [{"index": 0, "delta": {"content": "\n#"}}]})[:20],  # an event split in two reads
              sse({"choices": [{"index": 0, "delta": {"content": "\n#"}}]})[20:],
              sse({"choices": [{"index": 0, "delta": {"content": " end"}}]}),
              sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}], "usage": {"total_tokens": 9}})]
    t = EventStreamTrimmer(["\n# end"])
    out = "".join(t.feed(c) for c in chunks) + t.close()
    parsed = events(out)
    assert parsed[-1] == "[DONE]"
    data = [json.loads(e) for e in parsed[:-1]]
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in data)
    assert text == "x = 1"
    assert data[-1]["choices"][0]["finish_reason"] == "stop" and data[-1]["usage"] == {"total_tokens": 9}


def test_event_stream_releases_held_text_in_the_final_chunk():
    t = EventStreamTrimmer(["<END>"])
    out = t.feed(sse({"choices": [{"index": 0, "text": "a <E"}]}))
    out += t.feed(sse({"choices": [{"index": 0, "text": "", "finish_reason": "length"}]})) + t.close()
    data = [json.loads(e) for e in events(out)[:-1]]
    assert [d["choices"][0]["text"] for d in data] == ["a ", "<E"]
    assert data[-1]["choices"][0]["finish_reason"] == "length"


def test_error_events_pass_unchanged():
    t = EventStreamTrimmer(["x"])
    assert t.feed('data: {"error": "boom"}\n\n') == 'data: {"error": "boom"}\n\n'
