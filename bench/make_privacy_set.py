"""Builds a labelled privacy set from real code: secrets of every type and harmless lookalikes planted in real files.

Each file gets a few secrets (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, Google keys, JWTs, high-entropy values
under secret names, passwords in database URLs and connection strings, PEM RSA/EC/OPENSSH/PKCS#8 private keys,
e-mail addresses, public IPv4/IPv6) and a few lookalikes (git SHA-1s, UUIDs, private/documentation IPs, version
strings, example.com addresses, URLs without credentials, placeholders, base64 data, key headers without a key),
each as whole new lines at a random line boundary: in a comment, a string assignment or a config-like line, in the
file's own comment and assignment syntax. Every planted value is recorded with its label; nothing is random
without the seed.

    python -m bench.make_privacy_set --out /tmp/privacy_set.jsonl --seed 0
writes one JSON object per file: path, language, original, text, plants [{label, type, generator, values}].
"""
from __future__ import annotations

import argparse
import base64
import collections
import ipaddress
import json
import os
import random
import string
import sysconfig
import uuid

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
PW_CHARS = ALNUM * 3 + "!#%^*_-+=.~@"
URL_PW_CHARS = ALNUM * 3 + "-_.~!*+$"
EXTS = {".py": "Python", ".js": "JavaScript", ".ts": "TypeScript", ".java": "Java", ".c": "C", ".h": "C",
        ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".go": "Go", ".rb": "Ruby", ".php": "PHP"}
# comment marker, assignment of a string literal
STYLE = {"Python": ("#", '{name} = "{value}"'), "Ruby": ("#", '{name} = "{value}"'),
         "JavaScript": ("//", 'const {name} = "{value}";'), "TypeScript": ("//", 'const {name}: string = "{value}";'),
         "Java": ("//", 'private static final String {name} = "{value}";'),
         "C": ("//", 'static const char *{name} = "{value}";'), "C++": ("//", 'const std::string {name} = "{value}";'),
         "Go": ("//", '{name} := "{value}"'), "PHP": ("//", '${name} = "{value}";')}


def rand(rng: random.Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


class Planter:
    """Generators of (label, type, lines, values) for one language; values are the strings to check afterwards."""

    def __init__(self, rng: random.Random, language: str):
        self.rng, self.language = rng, language
        self.mark, self.assign_fmt = STYLE[language]

    def comment(self, text: str) -> str:
        return f"{self.mark} {text}"

    def assign(self, name: str, value: str) -> str:
        return self.assign_fmt.format(name=name, value=value)

    def place(self, name: str, value: str) -> str:
        """The value in a string assignment, a comment or a config-like (`NAME=value` / `name: value`) line."""
        how = self.rng.choice(("assign", "assign", "comment", "config"))
        if how == "assign":
            return self.assign(name, value)
        if how == "comment":
            return self.comment(f"{name} = \"{value}\"")
        return self.comment(self.rng.choice((f"{name.upper()}={value}", f"{name.lower()}: {value}")))

    def policy_password(self, chars: str, n: int) -> str:
        """Random characters with at least one digit, as password policies and generators require."""
        pw = list(rand(self.rng, chars, n - 1))
        pw.insert(self.rng.randrange(n), self.rng.choice(string.digits))
        return "".join(pw)

    # ---- secrets ----------------------------------------------------------------------------------------------
    def aws(self):
        r = self.rng
        key_id = r.choice(("AKIA", "ASIA")) + rand(r, string.ascii_uppercase + "234567", 16)
        secret = rand(r, B64, 40)
        return ("KEY", [self.place("aws_access_key_id", key_id), self.place("aws_secret_access_key", secret)],
                [key_id, secret])

    def github(self):
        r = self.rng
        token = r.choice(("ghp_", "gho_", "ghs_")) + rand(r, ALNUM, 36) if r.random() < 0.6 else \
            "github_pat_" + rand(r, ALNUM, 22) + "_" + rand(r, ALNUM, 59)
        name = r.choice(("GITHUB_TOKEN", "gh_token", "token", "GH_PAT"))
        line = r.choice((self.place(name, token), self.comment(f"git clone https://{token}@github.com/org/repo.git")))
        return "KEY", [line], [token]

    def gitlab(self):
        token = "glpat-" + rand(self.rng, B64URL, 20)
        return "KEY", [self.place("GITLAB_TOKEN", token)], [token]

    def slack(self):
        r = self.rng
        if r.random() < 0.6:
            token = f"xox{r.choice('bpa')}-{rand(r, string.digits, 12)}-{rand(r, string.digits, 13)}-" \
                    f"{rand(r, ALNUM, 24)}"
            return "KEY", [self.place(r.choice(("SLACK_BOT_TOKEN", "slack_token")), token)], [token]
        secret = rand(r, ALNUM, 24)
        url = f"https://hooks.slack.com/services/T{rand(r, string.ascii_uppercase + string.digits, 8)}/" \
              f"B{rand(r, string.ascii_uppercase + string.digits, 10)}/{secret}"
        return "KEY", [self.assign("SLACK_WEBHOOK_URL", url)], [secret]

    def stripe(self):
        r = self.rng
        key = r.choice(("sk_live_", "rk_live_")) + rand(r, ALNUM, r.choice((24, 99)))
        return "KEY", [self.place(r.choice(("stripe.api_key", "STRIPE_SECRET_KEY")), key)], [key]

    def openai(self):
        r = self.rng
        key = "sk-" + rand(r, ALNUM, 20) + "T3BlbkFJ" + rand(r, ALNUM, 20) if r.random() < 0.5 else \
            "sk-proj-" + rand(r, B64URL, 74) + "T3BlbkFJ" + rand(r, B64URL, 74)
        return "KEY", [self.place(r.choice(("OPENAI_API_KEY", "openai.api_key", "client_key")), key)], [key]

    def google(self):
        key = "AIza" + rand(self.rng, B64URL, 35)
        return "KEY", [self.place(self.rng.choice(("GOOGLE_API_KEY", "maps_key", "firebase_config")), key)], [key]

    def jwt(self):
        r = self.rng
        enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
        token = ".".join((enc({"alg": r.choice(("HS256", "RS256")), "typ": "JWT"}),
                          enc({"sub": str(r.randrange(10**9)), "name": rand(r, string.ascii_letters, 8),
                               "iat": r.randrange(1_500_000_000, 1_800_000_000)}), rand(r, B64URL, 43)))
        line = r.choice((self.place("access_token", token), self.comment(f"Authorization: Bearer {token}"),
                         self.assign("headers", f"Bearer {token}")))
        return "KEY", [line], [token]

    def generic_key(self):
        r = self.rng
        value = r.choice((rand(r, ALNUM, 32), rand(r, "0123456789abcdef", 40), rand(r, PW_CHARS, 50),
                          str(uuid.UUID(int=r.getrandbits(128)))))
        name = r.choice(("api_key", "API_KEY", "apiKey", "SECRET_KEY", "client_secret", "auth_token",
                         "access_token", "x-api-key", "signing_key"))
        return "KEY", [self.place(name, value)], [value]

    def password(self):
        r = self.rng
        pw = self.policy_password(PW_CHARS, r.randint(10, 20))
        name = r.choice(("password", "DB_PASSWORD", "db_pass", "adminPassword", "smtp_password", "passwd"))
        line = r.choice((self.place(name, pw), self.comment(f"<password>{pw}</password>"),
                         self.assign("conn_str", f"Server=tcp:db{r.randrange(99)}.corp.net,1433;User ID=sa;"
                                                 f"Password={pw};Encrypt=True")))
        return "PASSWORD", [line], [pw]

    def url_password(self):
        r = self.rng
        pw = self.policy_password(URL_PW_CHARS, r.randint(10, 18))
        user = r.choice(("admin", "app", "root", "svc_etl", "", "deploy"))
        host = r.choice(("db.internal", "10.0.3.7", "cluster0.ab1cd.mongodb.net", "cache.prod.local:6379",
                         "pg-main.corp.net:5432"))
        url = f"{r.choice(('postgres', 'postgresql', 'mysql', 'mongodb+srv', 'redis', 'amqp'))}://{user}:{pw}@{host}/" \
              f"{r.choice(('app', 'db', '0', 'prod'))}"
        return "PASSWORD", [r.choice((self.assign("DATABASE_URL", url), self.comment(f"DSN: {url}")))], [pw]

    def private_key(self):
        r = self.rng
        kind, head, n = r.choice((("RSA PRIVATE KEY", "MIIEowIBAAKCAQEA", 1600), ("EC PRIVATE KEY", "MHcCAQEEI", 160),
                                  ("OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", 380),
                                  ("PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 1620)))
        body = head + rand(r, B64, n - len(head)) + "=="
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        block = [f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"]
        how = r.choice(("comment", "concat", "escaped"))
        if how == "comment":
            out = [self.comment(x) for x in block]
        elif how == "concat":
            plus = "" if self.language == "Python" else " +"
            out = [f'KEY_PEM = ("{block[0]}\\n"{plus}'] + [f'    "{x}\\n"{plus}' for x in block[1:-1]] + \
                  [f'    "{block[-1]}\\n")']
        else:
            out = [self.assign("private_key", "\\n".join(block))]
        return "PRIVATE_KEY", out, [x for x in lines if len(x) >= 16]  # a short last line may occur anywhere

    def email(self):
        r = self.rng
        first, last = rand(r, string.ascii_lowercase, r.randint(3, 8)), rand(r, string.ascii_lowercase, r.randint(3, 9))
        domain = r.choice(("gmail.com", "yahoo.co.uk", "proton.me", "outlook.com", "mail.ru", "web.de"))
        if r.random() < 0.4:
            domain = f"{rand(r, string.ascii_lowercase, r.randint(4, 9))}.{r.choice(('com', 'io', 'de', 'org', 'fr'))}"
        addr = f"{first}{r.choice(('.', '_', ''))}{last}{r.choice(('', str(r.randrange(100))))}@{domain}"
        line = r.choice((self.comment(f"Author: {first.title()} {last.title()} <{addr}>"),
                         self.assign("AUTHOR_EMAIL", addr), self.comment(f"contact {addr} for access"),
                         self.assign("support_link", f"mailto:{addr}")))
        return "EMAIL", [line], [addr]

    def ip(self):
        r = self.rng
        while True:
            if r.random() < 0.65:
                ip = ipaddress.IPv4Address(r.getrandbits(32))
            else:
                ip = ipaddress.IPv6Address((r.choice((0x2001, 0x2400, 0x2600, 0x2a00, 0x2a02, 0x2c0f)) + r.randrange(
                    0x100) << 112) | r.getrandbits(64) | (r.getrandbits(16) << 80))
            if ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private):
                break
        addr = str(ip)
        line = r.choice((self.assign("SERVER_HOST", addr), self.comment(f"production box at {addr}, ask ops"),
                         self.assign("upstream", f"http://{addr}/api/v1" if ip.version == 4 else f"http://[{addr}]/"),
                         self.comment(f"allow from {addr}")))
        return "IP_ADDRESS", [line], [addr]

    # ---- lookalikes ---------------------------------------------------------------------------------------------
    def sha(self):
        sha = rand(self.rng, "0123456789abcdef", 40)
        return "sha1", [self.rng.choice((self.assign("commit", sha), self.comment(f"fixed in {sha}"),
                                         self.assign("expected_digest", sha)))], [sha]

    def uuid(self):
        u = str(uuid.UUID(int=self.rng.getrandbits(128)))
        return "uuid", [self.rng.choice((self.assign("request_id", u), self.comment(f"trace {u}"),
                                         self.assign("NAMESPACE", u)))], [u]

    def private_ip(self):
        r = self.rng
        n = r.randint(1, 254)
        addr = r.choice((f"10.{r.randrange(256)}.{r.randrange(256)}.{n}", f"192.168.{r.randrange(256)}.{n}",
                         f"172.{r.randint(16, 31)}.0.{n}", "127.0.0.1", f"169.254.{r.randrange(256)}.{n}", "0.0.0.0",
                         "224.0.0.251", f"192.0.2.{n}", f"198.51.100.{n}", f"203.0.113.{n}", "::1",
                         "fe80::1ff:fe23:4567:890a", f"fd{r.randrange(256):02x}::1", f"2001:db8::{n}", "ff02::1"))
        return "private_ip", [r.choice((self.assign("BIND_ADDR", addr), self.comment(f"listens on {addr}")))], [addr]

    def version(self):
        r = self.rng
        v = f"{r.randint(1, 30)}.{r.randint(0, 40)}.{r.randint(0, 40)}.{r.randint(0, 200)}"
        line = r.choice((self.assign("__version__", v), self.comment(f"requires libfoo >= {v}"),
                         self.comment(f"pinned: somepkg=={v}"), self.assign("VERSION", f"v{v}"),
                         self.comment(f"Version: {v}"), self.comment(f"release {v}")))
        return "version", [line], [v]

    def doc_email(self):
        r = self.rng
        addr = r.choice(("user@example.com", "admin@example.org", f"{rand(r, string.ascii_lowercase, 5)}@example.net",
                         "noreply@github.com", "no-reply@accounts.google.com", "root@localhost",
                         f"dev@{rand(r, string.ascii_lowercase, 4)}.example.com"))
        return "doc_email", [r.choice((self.comment(f"send to {addr}"), self.assign("FROM_ADDR", addr)))], [addr]

    def plain_url(self):
        r = self.rng
        url = r.choice(("https://github.com/python/cpython/blob/main/README.rst", "postgres://localhost:5432/app",
                        "http://127.0.0.1:8080/health", "https://user@bitbucket.org/team/repo.git",
                        "git@github.com:org/repo.git", "redis://cache:6379/0", "https://docs.python.org/3/library/"))
        return "url", [r.choice((self.assign("REPO_URL", url), self.comment(f"see {url}")))], [url]

    def placeholder(self):
        r = self.rng
        name, value = r.choice((("password", "changeme"), ("api_key", "<your-key>"), ("token", "xxxxxxxxxxxx"),
                                ("secret", "${APP_SECRET}"), ("API_KEY", "YOUR_API_KEY_HERE"), ("password", "********"),
                                ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"), ("db_password", "{{ db_password }}"),
                                ("SECRET_KEY", "replace-me-in-production"), ("password", "password123"),
                                ("DATABASE_URL", "postgres://user:password@localhost:5432/db"),
                                ("token", "%(token)s"), ("api_key", "os.environ['API_KEY']")))
        return "placeholder", [self.place(name, value)], [value]

    def blob(self):
        r = self.rng
        kind = r.choice(("png", "sri", "header", "pubkey"))
        if kind == "png":
            data = "iVBORw0KGgoAAAANSUhEUgAAA" + rand(r, B64, 60)
            return "base64_data", [self.assign("ICON", f"data:image/png;base64,{data}")], [data]
        if kind == "sri":
            data = "sha384-" + rand(r, B64, 64)
            return "base64_data", [self.assign("integrity", data)], [data]
        if kind == "header":
            line = self.assign("PEM_HEADER", "-----BEGIN RSA PRIVATE KEY-----")  # planted keys have the header too
            return "pem_header", [line], [line]
        body = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + rand(r, B64, 60)
        block = ["-----BEGIN PUBLIC KEY-----", body, "-----END PUBLIC KEY-----"]
        return "public_key", [self.comment(x) for x in block], [body]


SECRETS = ("aws", "github", "gitlab", "slack", "stripe", "openai", "google", "jwt", "generic_key", "password",
           "url_password", "private_key", "email", "ip")
LOOKALIKES = ("sha", "uuid", "private_ip", "version", "doc_email", "plain_url", "placeholder", "blob")


def plant(text: str, language: str, rng: random.Random, n_secrets: int, n_lookalikes: int) -> tuple[str, list]:
    """text with new lines inserted at random boundaries between its own lines (never inside another plant), and
    the plants' labels."""
    planter = Planter(rng, language)
    lines = text.split("\n")
    jobs = [("secret", g) for g in rng.sample(SECRETS, n_secrets)] + \
           [("lookalike", g) for g in rng.sample(LOOKALIKES, n_lookalikes)]
    at: dict[int, list[str]] = collections.defaultdict(list)
    plants = []
    for label, generator in jobs:
        kind, new_lines, values = getattr(planter, generator)()
        i = rng.randrange(len(lines) + 1)
        nxt = lines[i] if i < len(lines) else ""
        at[i] += [nxt[:len(nxt) - len(nxt.lstrip())] + x for x in new_lines]
        plants.append({"label": label, "type": kind, "generator": generator, "values": values})
    out = []
    for i, line in enumerate(lines + [None]):
        out += at.get(i, [])
        if line is not None:
            out.append(line)
    return "\n".join(out), plants


def source_files(n_stdlib: int, n_other: int, corpus: str, rng: random.Random) -> list[tuple[str, str]]:
    """(path, language): n_stdlib Python files from this interpreter's stdlib, up to n_other other-language files
    from `corpus` (JS, TS, Java, C, C++, Go, Ruby, PHP), all between 1 and 200 KB."""
    def walk(root, keep):
        found = []
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x not in ("site-packages", "__pycache__", "node_modules"))
            for f in sorted(files):
                p = os.path.join(d, f)
                if keep(f) and 1_000 <= os.path.getsize(p) <= 200_000:
                    found.append(p)
        return found
    stdlib = walk(sysconfig.get_paths()["stdlib"], lambda f: f.endswith(".py"))
    chosen = [(p, "Python") for p in rng.sample(stdlib, min(n_stdlib, len(stdlib)))]
    if os.path.isdir(corpus):
        other = walk(corpus, lambda f: os.path.splitext(f)[1] in EXTS and not f.endswith(".py"))
        chosen += [(p, EXTS[os.path.splitext(p)[1]]) for p in rng.sample(other, min(n_other, len(other)))]
    return chosen


def build(seed: int = 0, n_stdlib: int = 300, n_other: int = 150, corpus: str = "/tmp/corpora/real",
          n_secrets: int = 3, n_lookalikes: int = 3) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for path, language in source_files(n_stdlib, n_other, corpus, rng):
        try:
            original = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        text, plants = plant(original, language, rng, n_secrets, n_lookalikes)
        rows.append({"path": path, "language": language, "original": original, "text": text, "plants": plants})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stdlib-files", type=int, default=300)
    ap.add_argument("--other-files", type=int, default=150)
    ap.add_argument("--corpus", default="/tmp/corpora/real")
    args = ap.parse_args()
    rows = build(args.seed, args.stdlib_files, args.other_files, args.corpus)
    with open(args.out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"{len(rows)} files, {sum(len(r['plants']) for r in rows)} plants -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
