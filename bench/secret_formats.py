"""Providers' published credential formats (prefix, length, alphabet), written from their documentation.

This table is the independent half of the privacy evidence: it was written from the documentation cited beside each
entry (looked up with a search, not read off pipeline/privacy), and each body is drawn at random from the alphabet
the documentation gives. Where a provider documents no shape (Cohere, Mistral, Cloudflare, Twilio auth tokens), the
entry follows the length and alphabet its keys are shown with in the provider's docs and says so. `env` is the
variable name the provider's own docs and SDKs read the credential from.
"""
from __future__ import annotations

import base64
import random
import string
from typing import Callable, NamedTuple

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = DIGITS + "abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


class Format(NamedTuple):
    provider: str
    family: str          # cloud, vcs, ci, registry, payment, messaging, ai, saas
    env: str             # the variable name the provider documents
    make: Callable[[random.Random], str]
    doc: str             # where the shape is documented


def r(rng: random.Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def _discord(rng: random.Random) -> str:
    user_id = str(rng.randrange(10 ** 17, 10 ** 19)).encode()
    return base64.b64encode(user_id).decode().rstrip("=") + "." + r(rng, B64URL, 6) + "." + r(rng, B64URL, 38)


def _azure_ad(rng: random.Random) -> str:
    return r(rng, ALNUM, 3) + rng.choice(DIGITS) + "Q~" + r(rng, ALNUM + "_.~-", 34)


FORMATS: tuple[Format, ...] = (
    # ---- cloud ------------------------------------------------------------------------------------------------
    # IAM unique-ID prefixes (AKIA access key, 20 chars, base32 alphabet):
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
    Format("AWS access key id", "cloud", "AWS_ACCESS_KEY_ID",
           lambda g: g.choice(("AKIA", "ASIA")) + r(g, UPPER + "234567", 16),
           "docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html"),
    # secret access key: 40 characters of base64 (the docs' example wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)
    Format("AWS secret access key", "cloud", "AWS_SECRET_ACCESS_KEY", lambda g: r(g, B64, 40),
           "docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"),
    # API keys: "AIza" + 35 characters of [A-Za-z0-9_-]
    Format("Google Cloud API key", "cloud", "GOOGLE_API_KEY", lambda g: "AIza" + r(g, B64URL, 35),
           "cloud.google.com/docs/authentication/api-keys"),
    # OAuth client secrets created since 2021: "GOCSPX-" + 28 characters
    Format("Google OAuth client secret", "cloud", "GOOGLE_CLIENT_SECRET", lambda g: "GOCSPX-" + r(g, B64URL, 28),
           "support.google.com/cloud/answer/15549257 (client secret management)"),
    # Storage account keys: 512-bit, base64 (88 characters, "==" at the end)
    Format("Azure storage account key", "cloud", "AZURE_STORAGE_KEY",
           lambda g: base64.b64encode(g.randbytes(64)).decode(),
           "learn.microsoft.com/azure/storage/common/storage-account-keys-manage"),
    # Entra ID client secrets: 40 characters, "Q~" at positions 4-5 (Purview's SIT definition)
    Format("Azure AD client secret", "cloud", "AZURE_CLIENT_SECRET", _azure_ad,
           "learn.microsoft.com/purview/sit-defn-azure-ad-client-secret"),
    # Personal access tokens: "dop_v1_" + 64 hex
    Format("DigitalOcean token", "cloud", "DIGITALOCEAN_TOKEN", lambda g: "dop_v1_" + r(g, HEX, 64),
           "docs.digitalocean.com/reference/api/create-personal-access-token/"),
    # AccessKey secret: 30 alphanumeric characters
    Format("Alibaba Cloud AccessKey secret", "cloud", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", lambda g: r(g, ALNUM, 30),
           "alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair"),
    # API tokens: 40 characters of [A-Za-z0-9_-] (no prefix; shape as shown in the token-creation page)
    Format("Cloudflare API token", "cloud", "CLOUDFLARE_API_TOKEN", lambda g: r(g, B64URL, 40),
           "developers.cloudflare.com/fundamentals/api/get-started/create-token/"),
    # ---- version control --------------------------------------------------------------------------------------
    # ghp_/gho_/ghu_/ghs_/ghr_ + 36 of [A-Za-z0-9]; fine-grained github_pat_ + 22 + "_" + 59
    Format("GitHub token", "vcs", "GITHUB_TOKEN",
           lambda g: g.choice(("ghp_", "gho_", "ghu_", "ghs_", "ghr_")) + r(g, ALNUM, 36),
           "github.blog/changelog/2021-03-31-authentication-token-format-updates-are-generally-available"),
    Format("GitHub fine-grained PAT", "vcs", "GH_TOKEN",
           lambda g: "github_pat_" + r(g, ALNUM, 22) + "_" + r(g, ALNUM, 59),
           "github.blog/2022-10-18-introducing-fine-grained-personal-access-tokens-for-github/"),
    # glpat- + 20 of [A-Za-z0-9_-] (token prefixes table)
    Format("GitLab token", "vcs", "GITLAB_TOKEN", lambda g: g.choice(("glpat-", "gldt-", "glrt-")) + r(g, B64URL, 20),
           "docs.gitlab.com/ee/security/tokens/#token-prefixes"),
    # App passwords: "ATBB" + 32 characters
    Format("Bitbucket app password", "vcs", "BITBUCKET_APP_PASSWORD", lambda g: "ATBB" + r(g, ALNUM, 32),
           "support.atlassian.com/bitbucket-cloud/docs/app-passwords/"),
    # ---- CI and infrastructure --------------------------------------------------------------------------------
    # Personal API tokens: "CCIPAT_" + 22 + "_" + 40 hex
    Format("CircleCI token", "ci", "CIRCLECI_TOKEN", lambda g: "CCIPAT_" + r(g, ALNUM, 22) + "_" + r(g, HEX, 40),
           "circleci.com/docs/managing-api-tokens/"),
    # API access tokens: "bkua_" + 40 hex
    Format("Buildkite token", "ci", "BUILDKITE_API_TOKEN", lambda g: "bkua_" + r(g, HEX, 40),
           "buildkite.com/docs/apis/managing-api-tokens"),
    # Personal access tokens: "dckr_pat_" + 27 of [A-Za-z0-9_-]
    Format("Docker Hub token", "ci", "DOCKERHUB_TOKEN", lambda g: "dckr_pat_" + r(g, B64URL, 27),
           "docs.docker.com/security/for-developers/access-tokens/"),
    # Service tokens: "hvs." + at least 90 characters
    Format("HashiCorp Vault token", "ci", "VAULT_TOKEN", lambda g: "hvs." + r(g, B64URL, 91),
           "developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes"),
    # Terraform Cloud API tokens: 14 + ".atlasv1." + 67
    Format("Terraform Cloud token", "ci", "TFE_TOKEN", lambda g: r(g, ALNUM, 14) + ".atlasv1." + r(g, ALNUM, 67),
           "developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/api-tokens"),
    # ---- package registries -----------------------------------------------------------------------------------
    # "npm_" + 36 of [A-Za-z0-9]
    Format("npm token", "registry", "NPM_TOKEN", lambda g: "npm_" + r(g, ALNUM, 36),
           "github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/"),
    # macaroons: "pypi-" + base64url, starting with the encoded "pypi.org" location
    Format("PyPI token", "registry", "TWINE_PASSWORD", lambda g: "pypi-AgEIcHlwaS5vcmc" + r(g, B64URL, 150),
           "pypi.org/help/#apitoken"),
    # "rubygems_" + 48 hex
    Format("RubyGems API key", "registry", "GEM_HOST_API_KEY", lambda g: "rubygems_" + r(g, HEX, 48),
           "guides.rubygems.org/api-key-scopes/"),
    # "oy2" + 43 lower-case alphanumerics
    Format("NuGet API key", "registry", "NUGET_API_KEY", lambda g: "oy2" + r(g, LOWER + DIGITS, 43),
           "learn.microsoft.com/nuget/nuget-org/scoped-api-keys"),
    # crates.io: "cio" + 32 alphanumerics
    Format("crates.io token", "registry", "CARGO_REGISTRY_TOKEN", lambda g: "cio" + r(g, ALNUM, 32),
           "doc.rust-lang.org/cargo/reference/config.html#registrytoken"),
    # ---- payment ----------------------------------------------------------------------------------------------
    # sk_live_/rk_live_ + alphanumerics (Stripe: "up to 128"; gitlab.com/gitlab-org/gitlab/-/issues/458019)
    Format("Stripe secret key", "payment", "STRIPE_SECRET_KEY",
           lambda g: g.choice(("sk_live_", "rk_live_")) + r(g, ALNUM, g.choice((24, 99))), "docs.stripe.com/keys"),
    # access tokens "EAAA" + 60; OAuth application secrets "sq0csp-" + 43
    Format("Square access token", "payment", "SQUARE_ACCESS_TOKEN", lambda g: "EAAA" + r(g, B64URL, 60),
           "developer.squareup.com/docs/build-basics/access-tokens"),
    # "access_token$production$" + 16 + "$" + 32 hex
    Format("Braintree access token", "payment", "BRAINTREE_ACCESS_TOKEN",
           lambda g: "access_token$production$" + r(g, LOWER + DIGITS, 16) + "$" + r(g, HEX, 32),
           "developer.paypal.com/braintree/docs/guides/credentials/"),
    # REST client secrets: 80 of [A-Za-z0-9_-]
    Format("PayPal client secret", "payment", "PAYPAL_CLIENT_SECRET", lambda g: "E" + r(g, B64URL, 79),
           "developer.paypal.com/api/rest/#link-getclientidandclientsecret"),
    # Admin API access tokens: "shpat_" + 32 hex
    Format("Shopify access token", "payment", "SHOPIFY_ACCESS_TOKEN", lambda g: "shpat_" + r(g, HEX, 32),
           "shopify.dev/docs/apps/build/authentication-authorization/access-tokens"),
    # ---- messaging --------------------------------------------------------------------------------------------
    # bot tokens xoxb-<team digits>-<bot digits>-<24 alphanumerics>
    Format("Slack bot token", "messaging", "SLACK_BOT_TOKEN",
           lambda g: f"xoxb-{r(g, DIGITS, 12)}-{r(g, DIGITS, 13)}-{r(g, ALNUM, 24)}",
           "api.slack.com/authentication/token-types"),
    # auth tokens and API key secrets: 32 hex (shape as shown in the console; no prefix)
    Format("Twilio auth token", "messaging", "TWILIO_AUTH_TOKEN", lambda g: r(g, HEX, 32),
           "twilio.com/docs/iam/api/authtoken"),
    # "SG." + 22 + "." + 43 (base64url)
    Format("SendGrid API key", "messaging", "SENDGRID_API_KEY", lambda g: "SG." + r(g, B64URL, 22) + "." +
           r(g, B64URL, 43), "twilio.com/docs/sendgrid/ui/account-and-settings/api-keys"),
    # bot tokens: base64(user id) "." timestamp "." HMAC
    Format("Discord bot token", "messaging", "DISCORD_TOKEN", _discord,
           "discord.com/developers/docs/reference#authentication"),
    # "<bot id>:AA" + 33 of [A-Za-z0-9_-]
    Format("Telegram bot token", "messaging", "TELEGRAM_BOT_TOKEN",
           lambda g: f"{g.randrange(10 ** 8, 10 ** 10)}:AA{r(g, B64URL, 33)}", "core.telegram.org/bots/api"),
    # 32 hex + "-" + 8 hex + "-" + 8 hex
    Format("Mailgun API key", "messaging", "MAILGUN_API_KEY",
           lambda g: f"{r(g, HEX, 32)}-{r(g, HEX, 8)}-{r(g, HEX, 8)}",
           "documentation.mailgun.com/docs/mailgun/api-reference/authentication/"),
    # 32 hex + "-us" + data-centre number
    Format("Mailchimp API key", "messaging", "MAILCHIMP_API_KEY", lambda g: f"{r(g, HEX, 32)}-us{g.randrange(1, 22)}",
           "mailchimp.com/developer/marketing/guides/quick-start/"),
    # ---- AI APIs ----------------------------------------------------------------------------------------------
    # project keys "sk-proj-" + base64url with the "T3BlbkFJ" marker
    Format("OpenAI API key", "ai", "OPENAI_API_KEY",
           lambda g: "sk-proj-" + r(g, B64URL, 74) + "T3BlbkFJ" + r(g, B64URL, 74),
           "platform.openai.com/docs/api-reference/authentication"),
    # "sk-ant-api03-" + 93 of [A-Za-z0-9_-] + "AA"
    Format("Anthropic API key", "ai", "ANTHROPIC_API_KEY", lambda g: "sk-ant-api03-" + r(g, B64URL, 93) + "AA",
           "docs.anthropic.com/en/api/overview#authentication"),
    # "hf_" + 34 letters
    Format("Hugging Face token", "ai", "HF_TOKEN", lambda g: "hf_" + r(g, UPPER + LOWER, 34),
           "huggingface.co/docs/hub/security-tokens"),
    # "r8_" + 37 alphanumerics
    Format("Replicate token", "ai", "REPLICATE_API_TOKEN", lambda g: "r8_" + r(g, ALNUM, 37),
           "replicate.com/docs/reference/http#authentication"),
    # "gsk_" + 52 alphanumerics
    Format("Groq API key", "ai", "GROQ_API_KEY", lambda g: "gsk_" + r(g, ALNUM, 52),
           "console.groq.com/docs/quickstart"),
    # "pplx-" + 48 alphanumerics
    Format("Perplexity API key", "ai", "PERPLEXITY_API_KEY", lambda g: "pplx-" + r(g, ALNUM, 48),
           "docs.perplexity.ai/guides/getting-started"),
    # 40 alphanumerics, no prefix
    Format("Cohere API key", "ai", "CO_API_KEY", lambda g: r(g, ALNUM, 40), "docs.cohere.com/reference/about"),
    # 32 alphanumerics, no prefix
    Format("Mistral API key", "ai", "MISTRAL_API_KEY", lambda g: r(g, ALNUM, 32),
           "docs.mistral.ai/getting-started/quickstart/"),
    # ---- other SaaS -------------------------------------------------------------------------------------------
    # "PMAK-" + 24 hex + "-" + 34 hex
    Format("Postman API key", "saas", "POSTMAN_API_KEY", lambda g: f"PMAK-{r(g, HEX, 24)}-{r(g, HEX, 34)}",
           "learning.postman.com/docs/developer/postman-api/authentication/"),
    # "dapi" + 32 hex
    Format("Databricks token", "saas", "DATABRICKS_TOKEN", lambda g: "dapi" + r(g, HEX, 32),
           "docs.databricks.com/en/dev-tools/auth/pat.html"),
    # "glsa_" + 32 alphanumerics + "_" + 8 hex
    Format("Grafana service account token", "saas", "GRAFANA_TOKEN",
           lambda g: f"glsa_{r(g, ALNUM, 32)}_{r(g, HEX, 8)}",
           "grafana.com/docs/grafana/latest/administration/service-accounts/"),
    # "NRAK-" + 27 upper-case alphanumerics
    Format("New Relic user key", "saas", "NEW_RELIC_API_KEY", lambda g: "NRAK-" + r(g, UPPER + DIGITS, 27),
           "docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/"),
    # user auth tokens "sntryu_" + 64 hex
    Format("Sentry auth token", "saas", "SENTRY_AUTH_TOKEN", lambda g: "sntryu_" + r(g, HEX, 64),
           "docs.sentry.io/account/auth-tokens/"),
    # "lin_api_" + 40 alphanumerics
    Format("Linear API key", "saas", "LINEAR_API_KEY", lambda g: "lin_api_" + r(g, ALNUM, 40),
           "developers.linear.app/docs/graphql/working-with-the-graphql-api"),
    # integration secrets "ntn_" + 46 alphanumerics (older: "secret_" + 43)
    Format("Notion integration secret", "saas", "NOTION_TOKEN", lambda g: "ntn_" + r(g, DIGITS, 11) + r(g, ALNUM, 35),
           "developers.notion.com/docs/authorization"),
    # age identities: "AGE-SECRET-KEY-1" + 58 upper-case bech32 characters
    Format("age secret key", "saas", "SOPS_AGE_KEY",
           lambda g: "AGE-SECRET-KEY-1" + r(g, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
           "age-encryption.org/v1"),
)
