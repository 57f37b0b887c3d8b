"""`python -m deploy serve` refuses what it cannot serve with exit 2 and one line, before loading anything."""
import json
import socket
import subprocess
import sys

import pytest

from deploy import serve
from deploy.supervise import ServerProcess, free_port


def servable_shape(folder):
    """A folder that passes the pre-load checks (config with a context, a tokenizer file); its model never loads."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 256}))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_not_a_model_folder_exits_2_with_the_reason(tmp_path, capsys):
    assert serve.main(["--model", str(tmp_path), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no config.json" in err


def test_folder_without_tokenizer_exits_2(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 256}))
    assert serve.main(["--model", str(tmp_path)]) == 2
    assert "no tokenizer files" in capsys.readouterr().err


def test_taken_port_exits_2_before_the_model_loads(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.main(["--model", str(servable_shape(tmp_path / "m")), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_vllm_is_detected_and_refused_when_absent(tmp_path, capsys, monkeypatch):
    model = str(servable_shape(tmp_path / "m"))
    real = serve.importlib.util.find_spec
    monkeypatch.setattr(serve.importlib.util, "find_spec", lambda name: None if name == "vllm" else real(name))
    assert serve.main(["--model", model, "--engine", "vllm"]) == 2
    assert "vLLM is not installed" in capsys.readouterr().err
    assert serve.choose_engine("auto") == ("transformers", serve.choose_engine("auto")[1])
    assert "vLLM is not installed" in serve.choose_engine("auto")[1]


def test_auto_picks_vllm_where_installed(monkeypatch):
    monkeypatch.setattr(serve.importlib.util, "find_spec", lambda name: object())
    assert serve.choose_engine("auto")[0] == "vllm"
    assert serve.choose_engine("transformers")[0] == "transformers"
    cmd = serve.vllm_command(serve.parse(["--model", "m", "--port", "9", "--host", "0.0.0.0"]))
    assert cmd[1:] == ["-m", "vllm.entrypoints.openai.api_server", "--model", "m", "--host", "0.0.0.0", "--port", "9"]


def test_dispatcher_routes_serve():
    r = subprocess.run([sys.executable, "-m", "deploy", "serve", "--model", "/nonexistent"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "not a Hugging Face model folder" in r.stderr and "Traceback" not in r.stderr


def test_unloadable_model_exits_2_and_the_wait_says_so(tmp_path):
    # the folder passes the pre-load checks but holds no weights or real tokenizer: the server exits with one line,
    # and the wait for /health reports the exit and that line instead of waiting out its deadline
    proc = ServerProcess(servable_shape(tmp_path / "m"), free_port(), log=tmp_path / "log", deadline_s=60)
    with pytest.raises(RuntimeError, match=r"exited with status 2 before GET http://127.0.0.1:\d+/health") as e:
        proc.start()
    assert "serve error: cannot load" in str(e.value) and "Traceback" not in str(e.value)


def test_start_deadline_names_what_it_waited_for(debug_model_dir, tmp_path):
    # a real server given too short a deadline: the error names the URL, the last answer, and it is stopped
    proc = ServerProcess(debug_model_dir, free_port(), log=tmp_path / "log", deadline_s=0.5)
    with pytest.raises(TimeoutError, match=r"waited 0\.5 s for GET http://127\.0\.0\.1:\d+/health .*last answer"):
        proc.start()
    assert proc.proc.poll() is not None
