"""Wire settings into a running ``kserve.ModelServer`` for ``tip-generator``.

The server choices both predictors share are in :mod:`predictors.common.server`; LiteLLM's loggers are held at
``TIPSML_GENERATOR_LOG_LEVEL`` too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from contracts.nats_options import nats_connection
from predictors.common.server import ServerOptions, serve_model, start_logging
from predictors.generator.context import ContextAssembler, FeastUserStateReader, NoUserState, UserStateReader
from predictors.generator.errors import HTTP_STATUS
from predictors.generator.gateway import LLMGateway
from predictors.generator.model import Background, TipGenerator
from predictors.generator.offline_llm import register_offline_provider
from predictors.generator.registry import PromptRegistry, seed_prompts_dir
from predictors.generator.sandbox import PromptSandbox
from predictors.generator.selection import BanditLearner, ExperimentSource, Selector
from predictors.generator.service import GenerationService, keep_exposure_log
from predictors.generator.settings import GeneratorSettings

LLM_LOGGERS = ("LiteLLM", "litellm")
REWARD_FEED_CLIENT = "tip-generator-reward-feed"
"""The reward feed's NATS client name (shown in the server's connection list)."""
log = logging.getLogger(__name__)


def open_reader(settings: GeneratorSettings) -> UserStateReader:
    """Feast when configured, else a reader that knows nobody."""
    if not settings.use_feature_store:
        return NoUserState()
    from feature_repo.config import open_configured_store

    return FeastUserStateReader(open_configured_store(settings.feast_config, settings.state_dir, apply_local=False))


def build_service(settings: GeneratorSettings) -> GenerationService:
    """Everything the generator needs, from settings."""
    import litellm

    litellm.turn_off_message_logging = True  # LiteLLM's own logging must never carry user text
    litellm.disable_token_counter = True
    register_offline_provider(settings.llm_seed)
    if settings.seed_default_prompts:
        written = seed_prompts_dir(settings.prompts_dir)
        if written:
            log.info("seeded prompt registry with %s", ",".join(written))
    sandbox = PromptSandbox(settings.max_prompt_chars)
    registry = PromptRegistry(settings.prompts_dir, sandbox, settings.reload_interval_seconds)
    experiments = ExperimentSource(settings.experiment_file, settings.reload_interval_seconds)
    selector = Selector(registry, experiments, settings.default_prompt_version, np.random.default_rng())
    assembler = ContextAssembler(open_reader(settings), settings.feast_timeout_seconds)
    return GenerationService(registry, selector, assembler, LLMGateway(settings, sandbox))


def learner_factory(settings: GeneratorSettings) -> Any:
    """Builds the learner lazily inside the server's event loop (the reward log opens there)."""

    def make(service: GenerationService) -> Background | None:
        if settings.reward_db is None:
            return None
        from experiments.reward_log import RewardLog

        rewards = RewardLog(settings.reward_db)
        learner = BanditLearner(service.selector.experiments, rewards)
        if settings.nats_url is None:
            return learner
        from predictors.generator.reward_feed import FedLearner, RewardFeed

        connection = nats_connection(settings, settings.nats_url, REWARD_FEED_CLIENT)
        since = datetime.now(UTC) - timedelta(hours=settings.reward_replay_hours)
        return FedLearner(learner, RewardFeed(connection, rewards, since))

    return make


def serve(settings: GeneratorSettings) -> None:
    """Build, then serve until SIGTERM (blocks)."""
    start_logging(settings.log_level)
    model = TipGenerator(settings.model_name, lambda: build_service(settings), learner_factory(settings))
    model.load()
    options = ServerOptions(
        http_port=settings.http_port, log_level=settings.log_level, errors=HTTP_STATUS, extra_loggers=LLM_LOGGERS
    )
    serve_model(model, options, before_start=keep_exposure_log)
