"""Settings of the ``tip-generator`` deployable, read once at start-up and passed down.

Environment variables use the ``TIPSML_GENERATOR_`` prefix, except ``DEFAULT_PROMPT_VERSION`` which keeps the
name the recommender's deployment already sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.generator import PromptVersionName
from contracts.local_state import LocalState
from contracts.names import GENERATOR_MODEL
from contracts.prompt_template import MAX_RENDERED_CHARS

_LOCAL = LocalState()


class GeneratorSettings(BaseSettings):
    """Everything the generator needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_GENERATOR_", extra="ignore", frozen=True)

    model_name: str = GENERATOR_MODEL
    http_port: int = Field(default=8080, ge=1, le=65535)
    prompts_dir: Path = _LOCAL.prompts_dir
    """The prompt registry: a mounted ConfigMap in a cluster, a local directory otherwise."""
    seed_default_prompts: bool = True
    """Write the shipped ``v1``/``v2`` into an empty or missing ``prompts_dir`` (local stack only)."""
    reload_interval_seconds: float = Field(default=2.0, gt=0.0)
    """How stale the prompt registry and experiment file may be: they are re-checked at most this often."""
    experiment_file: Path | None = _LOCAL.root / "experiment.json"
    reward_db: Path | None = _LOCAL.state_db
    """The reward log bandits learn from; None disables learning (bandits then stay at their prior). Without
    ``nats_url`` it is the consumers' state database (local stack); with it, a file of this replica's own."""
    nats_url: str | None = None
    """Set in a cluster: follow the ``FEEDBACK`` stream into ``reward_db`` (every replica learns from every
    reaction). Unset: ``reward_db`` is written by the consumers on the same machine."""
    nats_creds_file: Path | None = None
    nats_tls_ca_file: Path | None = None
    nats_tls_cert_file: Path | None = None
    nats_tls_key_file: Path | None = None
    reward_replay_hours: float = Field(default=168.0, gt=0.0)
    """How far back the feed replays at start (the stream keeps 7 days)."""
    default_prompt_version: PromptVersionName | None = Field(
        default=None,
        validation_alias=AliasChoices("DEFAULT_PROMPT_VERSION", "TIPSML_GENERATOR_DEFAULT_PROMPT_VERSION"),
    )
    use_feature_store: bool = True
    """Read tasks and activity from Feast; off: contexts carry only the request's profile features."""
    state_dir: Path = _LOCAL.root
    """Local state root: Feast's SQLite online store and registry live under it."""
    feast_config: Path | None = None
    """A ``feature_store.yaml`` (production: Redis); unset: the local config under ``state_dir``."""
    feast_timeout_seconds: float = Field(default=0.5, gt=0.0)
    allow_external_user_text: bool = False
    """May task titles reach an LLM provider outside the cluster? Off by default."""
    external_text_policy: Literal["redact", "refuse"] = "redact"
    """What happens to a prompt bound for an external provider when user text may not leave: titles are
    replaced by their category (``redact``) or the request fails with 403 (``refuse``)."""
    local_model_prefixes: tuple[str, ...] = ("tipsml/",)
    """LiteLLM model strings that run inside the cluster; everything else counts as external."""
    allowed_api_bases: tuple[str, ...] = ()
    """The only endpoints an external model may be called at (a PromptVersion's ``model.apiBase`` must equal
    one exactly); empty: external providers are off, whatever a PromptVersion says. Set by the platform
    engineer (chart value ``generator.allowedApiBases``), never by a prompt author."""
    secrets_dir: Path = Path("/var/run/secrets/tipsml")
    """Mounted Secrets: ``api_key_secret: name/key`` is read from ``<secrets_dir>/name/key``."""
    max_prompt_chars: int = Field(default=MAX_RENDERED_CHARS, ge=100)
    """Longest rendered prompt at request time. Versions are published only if they fit the contract's
    ``MAX_RENDERED_CHARS`` for the worst-case context; below that, an overflow falls back to the default."""
    llm_seed: int = 0
    """Seed of the offline provider (it is deterministic given seed and request)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
