"""A labelled privacy set written from providers' published formats, not from our detectors (see secret_formats.py).

Each sample is a small file, made by us, in one of 15 languages and config formats, holding one credential:
- provider tokens (bench/secret_formats.py) in three contexts: `named` (assigned to the variable the provider
  documents, e.g. HF_TOKEN), `header` (an HTTP Authorization / API-key header in a curl line or a requests call)
  and `bare` (a positional argument or a comment: nothing but the token's own shape tells);
- connection strings with passwords (postgres, mysql, mongodb+srv, redis, amqp URLs, JDBC, ADO.NET) and
  credential files (a GCP service-account JSON, an Azure service-principal JSON, ~/.aws/credentials, .npmrc,
  .pypirc, .netrc, .git-credentials, Docker's config.json);
- generic random secrets (password, hex, base64) under secret names in every syntax;
and lookalikes that must stay intact: placeholders, providers' documentation example values, hashes, UUIDs in
non-secret fields, public keys and publishable identifiers. Bodies come from one seeded generator.
"""
from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
import uuid
from typing import NamedTuple

from bench.secret_formats import ALNUM, B64, FORMATS, HEX, r


class Sample(NamedTuple):
    label: str        # "secret" | "lookalike"
    group: str        # provider, "connection string", "generic secret", or the lookalike's kind
    context: str      # named | header | bare | url | file | the syntax of a generic secret or lookalike
    syntax: str
    text: str
    values: tuple[str, ...]  # secret: none may survive scrubbing; lookalike: each must keep its count


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(p.capitalize() for p in rest)


# Each syntax renders (name, value) pairs as a small file; the first and last pairs are ordinary settings.
SYNTAXES = {
    "dotenv": lambda kv: "".join(f"{k}={v}\n" for k, v in kv),
    "shell": lambda kv: "#!/bin/sh\n" + "".join(f'export {k}="{v}"\n' for k, v in kv),
    "yaml": lambda kv: "app:\n" + "".join(f"  {k.lower()}: {v}\n" for k, v in kv),
    "json": lambda kv: json.dumps({k.lower(): v for k, v in kv}, indent=2) + "\n",
    "toml": lambda kv: "[app]\n" + "".join(f'{k.lower()} = "{v}"\n' for k, v in kv),
    "properties": lambda kv: "".join(f"app.{k.lower().replace('_', '-')}={v}\n" for k, v in kv),
    "ini": lambda kv: "[default]\n" + "".join(f"{k.lower()} = {v}\n" for k, v in kv),
    "xml": lambda kv: "<appSettings>\n" + "".join(f'  <add key="{k}" value="{v}" />\n' for k, v in kv) +
    "</appSettings>\n",
    "python": lambda kv: "import os\n\n" + "".join(f'{k} = "{v}"\n' for k, v in kv),
    "javascript": lambda kv: "".join(f"const {_camel(k)} = '{v}';\n" for k, v in kv) + "module.exports = {};\n",
    "go": lambda kv: "package config\n\nconst (\n" + "".join(f'\t{_camel(k)} = "{v}"\n' for k, v in kv) + ")\n",
    "java": lambda kv: "class Config {\n" + "".join(f'    static final String {k} = "{v}";\n' for k, v in kv) +
    "}\n",
    "ruby": lambda kv: "".join(f"{k} = '{v}'\n" for k, v in kv),
    "dockerfile": lambda kv: "FROM python:3.11-slim\n" + "".join(f"ENV {k}={v}\n" for k, v in kv),
    "php": lambda kv: "<?php\n" + "".join(f"define('{k}', '{v}');\n" for k, v in kv),
}
ORDINARY = [("LOG_LEVEL", "info"), ("SERVICE_NAME", "billing-api"), ("TIMEOUT_SECONDS", "30"),
            ("REGION", "eu-west-1"), ("MAX_RETRIES", "5")]


def _file(rng: random.Random, syntax: str, name: str, value: str) -> str:
    a, b = rng.sample(ORDINARY, 2)
    return SYNTAXES[syntax]([a, (name, value), b])


def _header(rng: random.Random, value: str) -> tuple[str, str]:
    scheme = rng.choice(("Authorization: Bearer ", "Authorization: token ", "X-Api-Key: "))
    if rng.random() < 0.5:
        return "shell", f'curl -s https://api.service.io/v1/items \\\n  -H "{scheme}{value}"\n'
    key, _, prefix = scheme.partition(": ")
    return "python", (f'resp = requests.get(url, headers={{"{key}": "{prefix}{value}"}}, timeout=10)\n'
                      "resp.raise_for_status()\n")


def _bare(rng: random.Random, value: str) -> tuple[str, str]:
    return rng.choice((
        ("python", f'client = Client("{value}", timeout=30)\nclient.ping()\n'),
        ("javascript", f"const api = new Api('{value}');\nawait api.connect();\n"),
        ("go", f'c := service.New("{value}")\ndefer c.Close()\n'),
        ("shell", f"# staging, rotated monthly: {value}\n./deploy.sh staging\n"),
    ))


def provider_samples(rng: random.Random, per_context: dict[str, int]) -> list[Sample]:
    out = []
    syntaxes = list(SYNTAXES)
    for fmt in FORMATS:
        for context, n in per_context.items():
            for _ in range(n):
                value = fmt.make(rng)
                if context == "named":
                    syntax = rng.choice(syntaxes)
                    text = _file(rng, syntax, fmt.env, value)
                else:
                    syntax, text = (_header if context == "header" else _bare)(rng, value)
                out.append(Sample("secret", fmt.provider, context, syntax, text, (value,)))
    return out


def _password(rng: random.Random) -> str:
    pw = r(rng, ALNUM, rng.randint(11, 19)) + rng.choice(string.digits) + rng.choice("!$%^*-_.~")
    return "".join(rng.sample(pw, len(pw)))


def connection_samples(rng: random.Random, n: int) -> list[Sample]:
    """Connection strings in the forms the databases' and drivers' docs give, each in a config line."""
    forms = (
        ("postgres", "postgresql://{u}:{p}@db.internal.corp:5432/orders"),          # libpq URI
        ("postgres+driver", "postgresql+psycopg2://{u}:{p}@10.20.0.5/orders"),      # SQLAlchemy URL
        ("mysql", "mysql://{u}:{p}@mysql.prod.corp:3306/shop"),
        ("mongodb+srv", "mongodb+srv://{u}:{p}@cluster0.x1y2z.mongodb.net/app?retryWrites=true"),
        ("redis", "redis://default:{p}@cache.prod.corp:6379/0"),
        ("amqp", "amqp://{u}:{p}@rabbit.prod.corp:5672/vhost"),
        ("jdbc postgres", "jdbc:postgresql://db.corp:5432/orders?user={u}&password={p}"),
        ("jdbc sqlserver", "jdbc:sqlserver://sql.corp:1433;databaseName=orders;user={u};password={p};"),
        ("ado.net", "Server=tcp:orders.database.windows.net,1433;Initial Catalog=orders;User ID={u};"
                    "Password={p};Encrypt=True;"),
    )
    out = []
    for kind, form in forms:
        for _ in range(n):
            user, pw = rng.choice(("app", "svc_orders", "admin", "reporting")), _password(rng)
            in_url = "://" in form and "jdbc:" not in form
            value = urllib.parse.quote(pw, safe="") if in_url else pw
            conn = form.format(u=user, p=value)
            syntax = rng.choice(("dotenv", "yaml", "python", "properties", "json"))
            out.append(Sample("secret", "connection string", kind, syntax,
                              _file(rng, syntax, "DATABASE_URL", conn), (value,)))
    return out


def _pem_body(rng: random.Random) -> str:
    der = b"\x30\x82\x04\xbd\x02\x01\x00" + rng.randbytes(1210)  # a PKCS#8 RSA-2048 key's length
    return base64.b64encode(der).decode()


def credential_file_samples(rng: random.Random, n: int) -> list[Sample]:
    out = []
    for _ in range(n):
        body = _pem_body(rng)
        pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + \
            "\n-----END PRIVATE KEY-----\n"
        project = f"acme-{r(rng, string.ascii_lowercase, 6)}"
        # the key file `gcloud iam service-accounts keys create` writes
        sa = {"type": "service_account", "project_id": project, "private_key_id": r(rng, HEX, 40),
              "private_key": pem, "client_email": f"deployer@{project}.iam.gserviceaccount.com",
              "client_id": str(rng.randrange(10 ** 20, 10 ** 21)), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
              "token_uri": "https://oauth2.googleapis.com/token"}
        out.append(Sample("secret", "GCP service-account JSON", "file", "json", json.dumps(sa, indent=2),
                          tuple(body[i:i + 64] for i in range(0, len(body), 64))))
        secret = FORMATS[[f.provider for f in FORMATS].index("Azure AD client secret")].make(rng)
        sp = {"appId": str(uuid.UUID(int=rng.getrandbits(128))), "displayName": "ci-deployer", "password": secret,
              "tenant": str(uuid.UUID(int=rng.getrandbits(128)))}  # `az ad sp create-for-rbac` output
        out.append(Sample("secret", "Azure service-principal JSON", "file", "json", json.dumps(sp, indent=2),
                          (secret,)))
        key_id, aws_secret = "AKIA" + r(rng, string.ascii_uppercase + "234567", 16), r(rng, B64, 40)
        out.append(Sample("secret", "~/.aws/credentials", "file", "ini",
                          f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {aws_secret}\n"
                          "region = eu-west-1\n", (key_id, aws_secret)))
        npm = "npm_" + r(rng, ALNUM, 36)
        out.append(Sample("secret", ".npmrc", "file", "ini",
                          f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={npm}\n", (npm,)))
        pypi = "pypi-AgEIcHlwaS5vcmc" + r(rng, ALNUM + "-_", 150)
        out.append(Sample("secret", ".pypirc", "file", "ini",
                          f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {pypi}\n",
                          (pypi,)))
        gh = "ghp_" + r(rng, ALNUM, 36)
        out.append(Sample("secret", ".netrc", "file", "netrc",
                          f"machine api.github.com\n  login octocat\n  password {gh}\n", (gh,)))
        gh2 = "ghp_" + r(rng, ALNUM, 36)
        out.append(Sample("secret", ".git-credentials", "file", "url", f"https://octocat:{gh2}@github.com\n", (gh2,)))
        auth = base64.b64encode(f"deployer:{_password(rng)}".encode()).decode()
        out.append(Sample("secret", "docker config.json", "file", "json",
                          json.dumps({"auths": {"registry.corp.io": {"auth": auth}}}, indent=2), (auth,)))
    return out


GENERIC_NAMES = ("PASSWORD", "DB_PASSWORD", "SECRET_KEY", "API_KEY", "CLIENT_SECRET", "AUTH_TOKEN",
                 "ENCRYPTION_KEY", "JWT_SECRET", "PRIVATE_TOKEN", "WEBHOOK_SECRET", "SMTP_PASSWORD", "ACCESS_TOKEN")


def generic_samples(rng: random.Random, n: int) -> list[Sample]:
    """Random secrets (a policy password, 32/64 hex, 32-byte base64) under secret names, n per syntax."""
    out = []
    for syntax in SYNTAXES:
        for _ in range(n):
            name = rng.choice(GENERIC_NAMES)
            value = rng.choice((_password(rng), r(rng, HEX, rng.choice((32, 64))),
                                base64.b64encode(rng.randbytes(32)).decode()))
            out.append(Sample("secret", "generic secret", syntax, syntax, _file(rng, syntax, name, value), (value,)))
    return out


def lookalike_samples(rng: random.Random, n: int) -> list[Sample]:
    """Values that look like credentials but are not, in the same syntaxes, under the same names."""
    def placeholder():
        return rng.choice(("YOUR_API_KEY", "<your-api-key>", "your-token-here", "sk-...", "xxxxxxxxxxxxxxxxxxxxxxxx",
                           "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "changeme", "${API_KEY}",
                           "{{ secrets.DEPLOY_TOKEN }}", "<REDACTED>", "********", "REPLACE_ME", "TODO"))

    def doc_example():  # example values printed in the providers' own documentation
        return rng.choice(("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"))

    kinds = {  # kind: (names it is stored under, value maker)
        "placeholder": (GENERIC_NAMES, placeholder),
        "documentation example": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TELEGRAM_BOT_TOKEN",
                                   "STRIPE_TEST_KEY"), doc_example),
        "sha256 checksum": (("SHA256", "CHECKSUM", "ARTIFACT_DIGEST"), lambda: r(rng, HEX, 64)),
        "git commit": (("COMMIT", "GIT_SHA", "REVISION"), lambda: r(rng, HEX, 40)),
        "npm integrity": (("INTEGRITY",), lambda: "sha512-" + base64.b64encode(rng.randbytes(64)).decode()),
        "uuid": (("REQUEST_ID", "TENANT_ID", "CORRELATION_ID", "ORDER_ID"),
                 lambda: str(uuid.UUID(int=rng.getrandbits(128)))),
        "publishable key": (("STRIPE_PUBLISHABLE_KEY",), lambda: "pk_live_" + r(rng, ALNUM, 99)),
        "oauth client id": (("GOOGLE_CLIENT_ID",), lambda: f"{rng.randrange(10 ** 11, 10 ** 12)}-"
                            f"{r(rng, string.ascii_lowercase + string.digits, 32)}.apps.googleusercontent.com"),
        "ssh public key": (("DEPLOY_PUBLIC_KEY", "AUTHORIZED_KEY"),
                           lambda: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + r(rng, B64, 43) + " ci@build"),
    }
    out = []
    syntaxes = list(SYNTAXES)
    for kind, (names, make) in kinds.items():
        for _ in range(n):
            syntax, value = rng.choice(syntaxes), make()
            text = _file(rng, syntax, rng.choice(names), value)
            assert value in text, (syntax, value)
            out.append(Sample("lookalike", kind, syntax, syntax, text, (value,)))
    return out


def build(seed: int = 0, named: int = 6, header: int = 2, bare: int = 2, conn: int = 5, files: int = 4,
          generic: int = 6, lookalikes: int = 20) -> list[Sample]:
    rng = random.Random(seed)
    return (provider_samples(rng, {"named": named, "header": header, "bare": bare}) + connection_samples(rng, conn)
            + credential_file_samples(rng, files) + generic_samples(rng, generic) + lookalike_samples(rng, lookalikes))
