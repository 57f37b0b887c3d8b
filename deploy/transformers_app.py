"""`transformers serve`'s FastAPI app over one model folder, assembled as its CLI (transformers/cli/serve.py) does."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServedApp:
    """The app and what must be shut down after it: the model manager and the generation threads."""

    app: object
    model_manager: object
    generation_state: object

    def shutdown(self) -> None:
        self.generation_state.shutdown()
        self.model_manager.shutdown()


def pinned_manager_class():
    """transformers serve's ModelManager, except that /v1/models lists the one folder it is pinned to: 5.17's lists
    the models of the hub cache instead (and answers 500 where that cache folder does not exist)."""
    from transformers.cli.serving.model_manager import ModelManager

    class PinnedModelManager(ModelManager):
        def get_gen_models(self, cache_dir: str | None = None) -> list[dict]:
            config = Path(self.force_model) / "config.json"
            created = int(config.stat().st_mtime) if config.is_file() else 0
            return [{"id": self.force_model, "object": "model", "created": created, "owned_by": "deploy"}]

    return PinnedModelManager


def build(model_dir: str, device: str = "auto", dtype: str = "auto", log_level: str = "warning") -> ServedApp:
    """The app of `transformers serve MODEL_DIR` with the model loaded (pinned: requests naming another model get a
    400). Mirrors transformers 5.17's Serve.__init__ without starting uvicorn, so that our checks can wrap the app
    and our process owns the socket and the signals. Requests are generated one at a time on the model's inference
    thread (concurrent ones wait their turn); its continuous batching is not offered (README, Limits)."""
    from transformers.cli.serving.chat_completion import ChatCompletionHandler
    from transformers.cli.serving.completion import CompletionHandler
    from transformers.cli.serving.response import ResponseHandler
    from transformers.cli.serving.server import build_server
    from transformers.cli.serving.transcription import TranscriptionHandler
    from transformers.cli.serving.utils import GenerationState
    from transformers.utils import logging
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        raise ImportError("transformers serve needs fastapi, uvicorn, pydantic and openai: "
                          "pip install -e '.[serve]'")
    logging.get_logger("transformers").setLevel(logging.log_levels[log_level])
    manager = pinned_manager_class()(device=device, dtype=dtype, force_model=model_dir)
    state = GenerationState()
    handlers = dict(model_manager=manager, generation_state=state)
    app = build_server(
        manager, ChatCompletionHandler(**handlers), completion_handler=CompletionHandler(**handlers),
        response_handler=ResponseHandler(**handlers), transcription_handler=TranscriptionHandler(manager, state),
        generation_state=state)
    return ServedApp(app, manager, state)
