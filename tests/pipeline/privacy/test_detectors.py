"""Each detector finds its planted secret as exactly the secret's span, and leaves lookalikes alone."""
import pytest

from pipeline.privacy.detectors import (
    EMAIL,
    IP_ADDRESS,
    KEY,
    PASSWORD,
    PRIVATE_KEY,
    detect,
    entropy,
    looks_random,
    name_kind,
)

# Built from parts so that no scanner flags this test file itself as holding secrets.
AWS = "AKIA" + "QX7ZK2MPLW4RTY6N"
GITHUB = "ghp_" + "9fK2mQ7xLp4Rt8Zw1Vb6Nc3Hs5Jd0YgEaT2u"
SLACK = "xoxb-" + "2748163950-5829174036-aB3dE5fG7hJ9kL1mN2pQ4rS6"
GOOGLE = "AIza" + "SyD8k2Lq9Xw3Zp7Rt5Vn1Mb4Hc6Jf0Gs2Ea"
STRIPE = "sk_live_" + "51Hq8ZkL2mN9pQ4rS6tU8vW0xY2zA4bC6dE8f"
RANDOM = "x9Qm2Lk7Pz4Wr8Tn3Vb6Yc1Hd5Jf0Gs"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\n" + ("MIIEowIBAAKCAQEAq7Zk2Lm9Pn4Qr8St3Uv6Wx1Yz5Ab0Cd7Ef2Gh9Ij4Kl8Mn3Op\n" * 4)
       + "-----END RSA PRIVATE KEY-----")


def spans(text, types=(EMAIL, IP_ADDRESS, KEY, PASSWORD, PRIVATE_KEY)):
    return sorted((text[s.start:s.end], s.type) for s in detect(text, types))


@pytest.mark.parametrize("text, secret, kind", [
    (f'aws_access_key_id = "{AWS}"\n', AWS, KEY),
    (f"token: {GITHUB}\n", GITHUB, KEY),
    (f'SLACK = "{SLACK}"\n', SLACK, KEY),
    (f"const maps = '{GOOGLE}';\n", GOOGLE, KEY),
    (f'stripe.api_key = "{STRIPE}"\n', STRIPE, KEY),
    (f'API_SECRET = "{RANDOM}"\n', RANDOM, KEY),
    (f'db_password = "{RANDOM}"\n', RANDOM, PASSWORD),
    (f"url = 'postgres://app:{RANDOM}@db.internal.acme.io:5432/x'\n", RANDOM, PASSWORD),
    ("# mail me at jane.doe@acme-corp.de\n", "jane.doe@acme-corp.de", EMAIL),
    ("server = '203.0.113.0.1'\nhost = '81.169.145.92'\n", "81.169.145.92", IP_ADDRESS),
    ("peer = '2a00:1450:4001:82b::200e'\n", "2a00:1450:4001:82b::200e", IP_ADDRESS),
])
def test_secret_is_found_as_its_own_span(text, secret, kind):
    assert (secret, kind) in spans(text)


def test_private_key_block_is_one_span_including_markers():
    found = spans(f"KEY = '''\n{PEM}\n'''\n")
    assert found == [(PEM, PRIVATE_KEY)]


@pytest.mark.parametrize("text", [
    "commit = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'\n",      # a git SHA-1
    "id = '123e4567-e89b-12d3-a456-426614174000'\n",              # a UUID
    "host = '127.0.0.1'\nlan = '192.168.1.20'\nnet = '10.0.0.8'\n",  # loopback and private ranges
    "docs = '192.0.2.14'\n",                                      # documentation range (TEST-NET-1)
    "__version__ = '2.10.3.4'\n",                                 # a version string
    "# write to user@example.com for help\n",                    # documentation address
    "see https://docs.python.org/3/library/ipaddress.html\n",     # URL without credentials
    "password = 'changeme'\napi_key = os.environ['API_KEY']\n",    # placeholder and an environment lookup
    "token_type = 'bearer'\nsecret_name = 'my_database_secret'\n",  # names, not values
    'PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"\n',          # a marker alone is no key
    "url = 'redis://:password@localhost:6379'\n",                 # placeholder password
])
def test_lookalike_is_left_alone(text):
    assert spans(text) == []


def test_requested_types_only():
    text = f"jane.doe@acme-corp.de {AWS}\n"
    assert spans(text, (EMAIL,)) == [("jane.doe@acme-corp.de", EMAIL)]
    assert spans(text, (KEY,)) == [(AWS, KEY)]


@pytest.mark.parametrize("name, kind", [
    ("db_password", PASSWORD), ("SECRET_KEY", KEY), ("X-Api-Key", KEY), ("settings.SECRET_KEY", KEY),
    ("apiKey", KEY), ("token.ADD", None), ("password_field", None), ("get_token", None), ("monkey", None),
])
def test_name_kind(name, kind):
    assert name_kind(name) == kind


def test_randomness_test_separates_words_from_generated_values():
    assert entropy("aaaa") == 0.0 and entropy("abcd") == pytest.approx(2.0)
    assert looks_random(RANDOM, 3.0)
    assert not looks_random("correcthorsebattery", 3.0)
    assert not looks_random("my_database_secret", 3.0)
    assert not looks_random("./config/keys.json", 3.0)


# Shapes and forms the provider-format set (bench/privacy_formats.py) found missing; built from parts as above.
HF = "hf_" + "qWbLtZkPxRmNcVsYgDhJfAeUiOpKlMnBvC"
NPM = "npm_" + "k2Lm9Qx7Zp4Rt8Vw1Yb6Nc3Hs5Jd0GfEaT2u"
AZURE_AD = "aB3" + "8Q~" + "x9Km2Lp7Zq4Wr8Tn3Vb6Yc1Hd5Jf0Gs2E"
DOCKER_AUTH = "ZGVwbG95ZXI6" + "a3pXVS5XNTcxZmlXY2hlN1Y="  # base64 of deployer:<password>


@pytest.mark.parametrize("text, secret, kind", [
    (f"c = Client('{HF}')\n", HF, KEY),
    (f"# registry: {NPM}\n", NPM, KEY),
    (f'secret = "{AZURE_AD}"\n', AZURE_AD, KEY),
    (f'  <add key="ApiSecret" value="{RANDOM}" />\n', RANDOM, KEY),
    (f"define('DB_PASSWORD', '{RANDOM}');\n", RANDOM, PASSWORD),
    (f'props.put("password", "{RANDOM}");\n', RANDOM, PASSWORD),
    (f'curl -H "Authorization: Bearer {RANDOM}" https://api.acme.io\n', RANDOM, KEY),
    (f'{{"auths": {{"registry.acme.io": {{"auth": "{DOCKER_AUTH}"}}}}}}\n', DOCKER_AUTH, KEY),
])
def test_documented_formats_and_pair_forms_found(text, secret, kind):
    assert (secret, kind) in spans(text)


@pytest.mark.parametrize("text", [
    '  <add key="ApiKeyHeader" value="X-Api-Key" />\n',        # a header name, not a value
    "fields = ('password', 'username')\n",                     # two names in a tuple
    '{"auth": "c2hhMjU2IGRpZ2VzdCBvZiBhIGZpbGU="}\n',           # base64 of text without `user:`
    "hf_model_name_for_the_tokenizer_cache = 1\n",             # an hf_ identifier
])
def test_documented_format_lookalikes_left_alone(text):
    assert spans(text) == []
