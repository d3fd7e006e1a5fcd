"""The attention ranker's settings: the network's (`AttentionConfig`), training's
(`TrainConfig`) and what a run of the ranker is given (`AttentionSettings`: both, and whether to
use the text tower).

Plain frozen dataclasses with no torch import, so a run's settings can be built, checked and
stored by the studio and the CLI without loading the network. Every value is checked when the
config is built (`recdash.settings`); both configs are stored in every checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from recdash.settings import check_types, require

LOSSES = ("auto", "full", "sampled")
# "auto": full softmax up to this many items, sampled above it, where a full-softmax step
# costs many times a sampled one (37k items: 12x on one CPU thread).
AUTO_FULL_MAX_ITEMS = {"cpu": 10_000, "cuda": 100_000}
DEVICES = ("auto", "cpu", "cuda")
# Tuning on validation, for small shops: the settings tried beside the run's own, and the sizes
# of log it is worth it for (fewer events validate on too few shoppers to choose between
# settings; more make each trial long, and the defaults hold up there).
TUNE_TRIALS = ({"dropout": 0.5}, {"lr": 3e-3, "dim": 32}, {"max_len": 20})
TUNE_EVENTS = (2_000, 100_000)
TUNE_SHARE = 0.5  # of a time limit, shared by the trials; the best trial trains on with the rest
LR_SCHEDULES = ("constant", "linear")
REPEAT_BONUS = ("auto", "on", "off")
# "auto" switches the repeat bonus on where at least this share of the training events after a
# sequence's first return to an item the sequence had (`recdash.data.validation.repeat_share`).
REPEAT_BONUS_MIN_SHARE = 0.05


@dataclass(frozen=True)
class AttentionConfig:
    """Settings of the network (stored in every checkpoint).

    Attributes:
        n_items: catalog size (without the padding row).
        max_len: longest history read; older events are dropped.
        dim: hidden size of embeddings and transformer.
        n_layers: transformer blocks.
        n_heads: attention heads per block.
        dropout: dropout on embeddings, attention and feed-forward.
        use_id: learn an ID embedding per item.
        use_text: project the item's pretrained text embedding (text_dim wide).
        text_dim: width of the text embeddings (384 for all-MiniLM-L6-v2).
        use_category, use_brand, use_price: add these catalog features' embeddings.
        n_categories, n_brands, n_price_bands: vocabulary sizes, filled in from the catalog
            at fit time (0 = the catalog has none).
        use_event: add an event-type (view/cart/purchase) embedding on the input side.
        use_time_gap: add an embedding of log2(seconds since the previous event).
        score_scale: 0 scores by the dot product of session and item vectors; above 0 by
            their cosine times this temperature (NISER, Gupta et al. 2019; 12-16 suits short
            sessions), so no item wins on its vector's length alone.
        recency_positions: number positions from the newest event (0 = newest) instead of
            from the left edge of the left-padded batch, whose width is the batch's longest
            history: then an event's position embedding does not depend on which other
            histories share its batch (off in checkpoints from before this setting).
        repeat_bonus: "on" adds a learned score to items already in the history, by how
            recently they were seen (`model.AttentionRankerNet.repeat_pairs`); "auto" is
            decided at fit time: on where at least REPEAT_BONUS_MIN_SHARE of the training
            events return to an item of their sequence (a trained run stores "on" or "off";
            checkpoints from before this setting read "auto" and have no bonus).
    """

    n_items: int
    max_len: int = 200
    dim: int = 64
    n_layers: int = 2
    n_heads: int = 1
    dropout: float = 0.2
    use_id: bool = True
    use_text: bool = False
    text_dim: int = 384
    use_category: bool = True
    use_brand: bool = True
    use_price: bool = True
    n_categories: int = 0
    n_brands: int = 0
    n_price_bands: int = 0
    use_event: bool = True
    use_time_gap: bool = True
    score_scale: float = 0.0
    recency_positions: bool = False
    repeat_bonus: str = "auto"

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "n_items", self.n_items >= 0, "0 (filled in at fit time) or more")
        require(self, "max_len", 1 <= self.max_len <= 10_000, "1 to 10,000 events, e.g. 200")
        require(self, "n_heads", self.n_heads >= 1, "1 or more heads, e.g. 1 or 2")
        require(self, "dim", self.dim >= 2 and self.dim % self.n_heads == 0,
                f"a positive multiple of n_heads ({self.n_heads}), e.g. 64")
        require(self, "n_layers", 1 <= self.n_layers <= 64, "1 to 64 blocks, e.g. 2")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "0 or more and below 1, e.g. 0.2")
        require(self, "text_dim", self.text_dim >= 1, "the text embeddings' width, e.g. 384")
        require(self, "score_scale", self.score_scale >= 0.0,
                "0 (the dot product) or a temperature above 0, e.g. 12")
        require(self, "repeat_bonus", self.repeat_bonus in REPEAT_BONUS,
                f"one of {', '.join(REPEAT_BONUS)}")
        for name in ("n_categories", "n_brands", "n_price_bands"):
            require(self, name, getattr(self, name) >= 0, "0 (none) or more")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of training (stored in every checkpoint).

    Attributes:
        epochs: most passes over the training users.
        batch_size: users per step (per process under torchrun).
        lr: AdamW learning rate (the peak one under a schedule).
        lr_schedule: "constant", or "linear": decay to 0 by the end of `epochs`, or by the
            time limit when max_minutes ends training first (a budget spent on a decaying
            rate ends better than one cut off at full rate: Li et al., "Budgeted Training",
            ICLR 2020). Without a time limit the rate follows the steps alone.
        weight_decay: AdamW weight decay.
        loss: "full" softmax over the catalog, "sampled" softmax with logQ correction, or
            "auto": full up to AUTO_FULL_MAX_ITEMS items for the device, sampled above (the
            trained run's settings record which was used).
        n_negatives: negatives per step for the sampled softmax (shared by the batch).
        patience: stop after this many validations without a better NDCG@10.
        valid_users: validate on a fixed sample of this many users (0 = all).
        valid_exclude_seen: validation leaves items already in the history out of its
            rankings; a run sets it to its own protocol's rule (`RunSpec.exclude_seen`), so
            early stopping and tuning judge the rankings the run is measured on.
        seed: seed of initialisation, shuffling, dropout and sampling.
        device: "auto" (cuda if available), "cpu" or "cuda".
        max_minutes: stop training after this long (0 = no limit).
        checkpoint_minutes: also checkpoint mid-epoch this often.
        tune: on logs of TUNE_EVENTS training events, train a few other settings too (TUNE_TRIALS:
            learning rate, dropout, width, history length) and keep the one with the best
            validation NDCG@10. Under a time limit the trials share TUNE_SHARE of it equally and
            the best one trains on, from where it stopped, for the rest.
    """

    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    loss: str = "auto"
    n_negatives: int = 3000
    patience: int = 10
    valid_users: int = 0
    valid_exclude_seen: bool = True
    seed: int = 0
    device: str = "auto"
    max_minutes: float = 0.0
    checkpoint_minutes: float = 5.0
    tune: bool = True

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "epochs", self.epochs >= 1, "1 or more passes, e.g. 30")
        require(self, "batch_size", self.batch_size >= 1, "1 or more users per step, e.g. 128")
        require(self, "lr", 0.0 < self.lr <= 1.0, "above 0 and at most 1, e.g. 0.001")
        require(self, "weight_decay", self.weight_decay >= 0.0, "0 or more, e.g. 0")
        require(self, "lr_schedule", self.lr_schedule in LR_SCHEDULES,
                f"one of {', '.join(LR_SCHEDULES)}")
        require(self, "loss", self.loss in LOSSES, f"one of {', '.join(LOSSES)}")
        require(self, "n_negatives", self.n_negatives >= 1, "1 or more, e.g. 3000")
        require(self, "patience", self.patience >= 1, "1 or more validations, e.g. 10")
        require(self, "valid_users", self.valid_users >= 0, "0 (every user) or more")
        require(self, "seed", self.seed >= 0, "0 or more")
        require(self, "device", self.device in DEVICES or self.device.startswith("cuda:"),
                f"one of {', '.join(DEVICES)} (or cuda:N)")
        require(self, "max_minutes", self.max_minutes >= 0.0, "0 (no limit) or more minutes")
        require(self, "checkpoint_minutes", self.checkpoint_minutes >= 0.0,
                "0 (only at epoch ends) or more minutes")


@dataclass(frozen=True)
class AttentionSettings:
    """What a run of the attention ranker is configured with.

    Attributes:
        model: the network's settings (n_items and the vocabularies are filled in at fit time).
        train: training's settings (its device is the run's).
        text: describe items by their text embeddings too (when the catalog has text).
    """

    model: AttentionConfig = field(default_factory=lambda: AttentionConfig(n_items=0))
    train: TrainConfig = field(default_factory=TrainConfig)
    text: bool = True

    def __post_init__(self) -> None:
        require(self, "model", isinstance(self.model, AttentionConfig), "an AttentionConfig")
        require(self, "train", isinstance(self.train, TrainConfig), "a TrainConfig")
        require(self, "text", isinstance(self.text, bool), "True or False")

    @classmethod
    def from_dict(cls, data: dict | None, where: str = "",
                  stored: bool = False) -> "AttentionSettings":
        """From `to_dict`'s output; unknown keys are refused, or ignored with a warning when
        `stored` (see `recdash.settings.from_dict`)."""
        from recdash.settings import from_dict, unknown_keys

        data = unknown_keys(dict(data or {}), {"model", "train", "text"}, "AttentionSettings",
                            where, stored, "its parts are model, train and text")
        return cls(from_dict(AttentionConfig, {"n_items": 0, **data.get("model", {})}, where,
                             stored),
                   from_dict(TrainConfig, data.get("train"), where, stored),
                   bool(data.get("text", True)))

    @classmethod
    def from_flat(cls, values: dict, where: str = "", stored: bool = False
                  ) -> "AttentionSettings":
        """From one flat dict of AttentionConfig and TrainConfig fields plus "text" (what the
        CLI's flags and earlier runs' stored settings look like); unknown keys are refused, or
        ignored with a warning when `stored`."""
        from dataclasses import fields

        from recdash.settings import unknown_keys

        net = {f.name for f in fields(AttentionConfig)}
        train = {f.name for f in fields(TrainConfig)}
        values = unknown_keys(dict(values), net | train | {"text"}, "the attention ranker", where,
                              stored, "not a setting of the attention ranker; see "
                              "AttentionConfig and TrainConfig, or `recdash train --help`")
        return cls.from_dict({"model": {k: v for k, v in values.items() if k in net},
                              "train": {k: v for k, v in values.items() if k in train},
                              "text": values.get("text", True)}, where, stored)

    def to_dict(self) -> dict:
        return asdict(self)


def with_changes(model: AttentionConfig, train: TrainConfig, change: dict, **train_fields
                 ) -> tuple[AttentionConfig, TrainConfig]:
    """The two configs with a flat dict of changes applied, each field to the config that has
    it (a tuning trial's changes, e.g. {"lr": 3e-3, "dim": 32}), and `train_fields` on top."""
    net = {f.name for f in fields(AttentionConfig)}
    return (replace(model, **{k: v for k, v in change.items() if k in net}),
            replace(train, **{**{k: v for k, v in change.items() if k not in net},
                              **train_fields}))


def resolve_loss(loss: str, n_items: int, device_type: str) -> str:
    """The softmax a run trains with: `loss` itself, or for "auto" full or sampled by the
    catalog's size on this device ("cpu" or "cuda")."""
    if loss != "auto":
        return loss
    limit = AUTO_FULL_MAX_ITEMS["cuda" if device_type == "cuda" else "cpu"]
    return "full" if n_items <= limit else "sampled"
