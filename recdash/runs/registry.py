"""The model kinds a run can train: one registry read by the CLI, the Train page and the job
worker alike.

A `ModelKind` says how a kind is shown (label, description), what its settings are (a config
dataclass and its defaults), which queue its jobs wait in (baselines fit in seconds and never wait
behind a long training job), whether it uses a GPU, and how a model is built for training and
restored from a finished run (from its checkpoint, or by refitting in seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from recdash.errors import SettingError
from recdash.models.attention.config import AttentionSettings
from recdash.models.ease import EASEConfig
from recdash.models.itemknn import ItemKNNConfig
from recdash.models.rules import RulesConfig
from recdash.models.sknn import SessionKNNConfig
from recdash.models.popularity import PopularityConfig
from recdash.settings import from_dict

SHORT, TRAIN = "short", "train"  # lanes: seconds-long fits; long training (one per device)


@dataclass(frozen=True)
class BuildContext:
    """What building a model for a run may use.

    Attributes:
        ws: the workspace.
        dataset: the run's dataset.
        split: the run's split.
        run_dir: the run's folder (checkpoints).
        device: the run's device ("auto", "cpu", "cuda").
        on_event: receives training events (the attention ranker's), or None.
        progress: receives (fraction, message) while the model is prepared, or None.
    """

    ws: Any
    dataset: Any
    split: Any
    run_dir: Path
    device: str = "auto"
    on_event: Callable | None = None
    progress: Callable[[float, str], None] | None = None


@dataclass(frozen=True)
class ModelKind:
    """One kind of model a run can train.

    Attributes:
        name: its key (stored with every run, given to `--model`).
        label: how the studio names it.
        description: one or two sentences for the Train page.
        config: its settings' dataclass.
        default: builds its default settings.
        lane: SHORT (fits in seconds) or TRAIN (long training, one job per device at a time).
        uses_gpu: trains on a GPU when the run's device allows it.
        checkpointed: restored from its checkpoint (else refitted when a run is loaded).
        headline: the studio's main model (preselected; baselines are compared against it).
        build: (settings, BuildContext) -> an unfitted Recommender.
        restore: (settings, run folder, TrainData, device) -> a fitted Recommender, or None
            to refit with `build`.
    """

    name: str
    label: str
    description: str
    config: type
    default: Callable[[], object]
    lane: str
    build: Callable[[object, BuildContext], object]
    uses_gpu: bool = False
    checkpointed: bool = False
    headline: bool = False
    restore: Callable[[object, Path, object, str], object] | None = None

    def configure(self, overrides: dict | None = None, where: str = "",
                  stored: bool = False) -> object:
        """Its settings: the defaults with `overrides` (field -> value) applied and checked.

        For the attention ranker the keys are AttentionConfig and TrainConfig fields and
        "text"; unknown keys raise SettingError naming them (or are ignored with a warning when
        `stored`).
        """
        overrides = dict(overrides or {})
        if self.config is AttentionSettings:
            return AttentionSettings.from_flat(overrides, where, stored)
        if not overrides:
            return self.default()
        return from_dict(self.config, {**asdict(self.default()), **overrides}, where, stored)

    def settings_from_dict(self, data: dict | None, where: str = "",
                           stored: bool = False) -> object:
        """Its settings from their JSON (`asdict` of the config); see `configure` for `stored`."""
        if self.config is AttentionSettings:
            return AttentionSettings.from_dict(data, where, stored)
        return from_dict(self.config, data, where, stored)


def _attention(settings: AttentionSettings, ctx: BuildContext):
    from recdash.models.attention import AttentionRanker
    from recdash.runs.train import text_embeddings

    text = text_embeddings(ctx.ws, ctx.dataset, ctx.split, ctx.progress) \
        if settings.text else None
    model = replace(settings.model, use_text=text is not None)
    train = replace(settings.train, device=ctx.device)
    return AttentionRanker(model, train, ctx.run_dir, text, ctx.on_event)


def _restore_attention(settings: AttentionSettings, run_dir: Path, data, device: str):
    from recdash.models.attention import AttentionRanker
    return AttentionRanker.load(run_dir, data, device=device)


def _popularity(config: PopularityConfig, ctx: BuildContext):
    from recdash.models.popularity import Popularity
    return Popularity(config)


def _itemknn(config: ItemKNNConfig, ctx: BuildContext):
    from recdash.models.itemknn import ItemKNN
    return ItemKNN(config)


def _sknn(config: SessionKNNConfig, ctx: BuildContext):
    from recdash.models.sknn import SessionKNN
    return SessionKNN(config)


def _rules(config: RulesConfig, ctx: BuildContext):
    from recdash.models.rules import SequentialRules
    return SequentialRules(config)


def _ease(config: EASEConfig, ctx: BuildContext):
    from recdash.models.ease import EASE
    return EASE(config)


MODELS: dict[str, ModelKind] = {kind.name: kind for kind in (
    ModelKind("attention", "Attention ranker", (
        "A transformer that reads the order of a shopper's views, carts and purchases, and "
        "knows products by text, category, brand and price."), AttentionSettings,
        AttentionSettings, TRAIN, _attention, uses_gpu=True, checkpointed=True, headline=True,
        restore=_restore_attention),
    ModelKind("ease", "EASE", (
        "A linear item-to-item model solved in closed form: a strong, quick baseline for "
        "catalogs up to a few tens of thousands of items."), EASEConfig, EASEConfig, SHORT,
        _ease),
    ModelKind("itemknn", "Item k-NN", (
        "Recommends items that shoppers often pair with the shopper's own items (cosine "
        "similarity)."), ItemKNNConfig, ItemKNNConfig, SHORT, _itemknn),
    ModelKind("sknn", "Session k-NN", (
        "Recommends what the training sessions most like the current one went on to hold, the "
        "latest events weighing most (V-SKNN): strong on short anonymous sessions."),
        SessionKNNConfig, SessionKNNConfig, SHORT, _sknn),
    ModelKind("rules", "Sequential rules", (
        "Recommends what shoppers viewed or bought next after the shopper's last item, nearer "
        "steps counting more."), RulesConfig, RulesConfig, SHORT, _rules),
    ModelKind("pop-recent", "Recent best sellers", (
        "The most popular items of the last 30 days, the same for everyone."),
        PopularityConfig, lambda: PopularityConfig(window_days=30), SHORT, _popularity),
    ModelKind("pop", "Best sellers", "The most popular items of all time, the same for everyone.",
              PopularityConfig, PopularityConfig, SHORT, _popularity),
)}
BASELINES = tuple(name for name, kind in MODELS.items() if not kind.headline)


def model_kind(name: str) -> ModelKind:
    """The kind called `name`, or a SettingError listing the kinds."""
    if name not in MODELS:
        raise SettingError("RunSpec.model", name, f"choose one of {', '.join(MODELS)}")
    return MODELS[name]


def baseline(name: str):
    """A baseline model of kind `name` with its default settings, unfitted (for notebooks and
    benchmarks; a run builds its models through `ModelKind.build`)."""
    kind = model_kind(name)
    if kind.lane != SHORT:
        raise SettingError("model", name, f"{name} is not a baseline; choose one of "
                           f"{', '.join(BASELINES)}")
    return kind.build(kind.default(), None)  # type: ignore[arg-type]
