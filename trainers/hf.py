"""Hugging Face text classification: ``model.kind: huggingface`` and ``data.source: text_csv``.

``transformers`` is the optional extra ``hf`` (``pip install 'cloudgd[hf]'``) and is
imported only here, only by jobs that use it. ``model.name`` is anything
``from_pretrained`` accepts: a hub id such as ``bert-base-uncased`` (on a cloud the
weights and tokenizer download from the Hub as usual; ``HF_TOKEN`` / ``HF_HOME`` in
the job's ``env``/``secrets`` apply) or a local directory written by ``save_pretrained``.

The text is tokenised once, up front, into a tensor of shape rows × 2 × length
(token ids, attention mask), so batching, sharding, resume and DDP work exactly as
for every other source; the model wrapper splits the two planes again.

``model.args`` keys: ``pretrained`` (default true; false starts from random weights
built from the model's config), ``tokenizer`` (default: ``model.name``),
``revision`` (a hub revision) and ``config`` (overrides for the model config,
e.g. ``{hidden_dropout_prob: 0.2}``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainers.config import HF_ARG_KEYS, DataConfig, ModelConfig
from trainers.data import _MAX_CLASSES_AUTO, Dataset, _encode_labels, _files, resolve_location
from trainers.errors import ConfigError, DataError

ARG_KEYS = HF_ARG_KEYS
_MIN_TEXT_LENGTH = 2  # [CLS] and [SEP] alone


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ConfigError(
            "model.kind=huggingface needs the transformers package",
            hint="pip install 'cloudgd[hf]' (or add transformers to your image)",
        ) from exc
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def check_args(cfg: ModelConfig) -> None:
    unknown = sorted(set(cfg.args) - ARG_KEYS)
    if unknown:
        raise ConfigError(
            f"model.args: unknown key(s) {unknown} for kind=huggingface",
            hint=f"known: {', '.join(sorted(ARG_KEYS))}",
        )
    if not isinstance(cfg.args.get("config", {}), dict):
        raise ConfigError("model.args.config must be a mapping of model config overrides")


def load_tokenizer(cfg: ModelConfig) -> Any:
    """The tokenizer named by ``model.args.tokenizer`` or ``model.name``, with a pad token."""
    check_args(cfg)
    name = cfg.args.get("tokenizer") or cfg.name
    try:
        tok = _transformers().AutoTokenizer.from_pretrained(name, revision=cfg.args.get("revision"))
    except OSError as exc:
        raise ConfigError(
            f"model.name: cannot load a tokenizer for {name!r}: {exc}",
            hint="use a hub id (network needed) or a directory written by save_pretrained",
        ) from exc
    if tok.pad_token is None:
        # Decoder-only models (GPT-2 and kin) ship without one; the mask keeps it inert.
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def read_text_csv(location: Path, text_column: str, target: str) -> tuple[list[str], np.ndarray]:
    """Texts and raw labels from one CSV file or every *.csv under a directory."""
    texts: list[str] = []
    labels: list[str] = []
    for path in _files(location, ".csv"):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            for column, field in ((text_column, "data.text_column"), (target, "data.target")):
                if column not in header:
                    raise DataError(f"{field}: column {column!r} not in {path}", hint=f"{header}")
            for row in reader:
                texts.append(row[text_column] or "")
                labels.append(row[target] or "")
    if not texts:
        raise DataError(f"data: {location} holds no CSV rows")
    raw = np.asarray(labels)
    try:
        return texts, raw.astype(np.float64)
    except ValueError:
        return texts, raw


def _task(cfg: DataConfig, y: np.ndarray) -> str:
    if cfg.task != "auto":
        return cfg.task
    if y.dtype.kind in "USO":
        return "classification"
    few_integers = bool(np.all(np.mod(y, 1) == 0)) and len(np.unique(y)) <= _MAX_CLASSES_AUTO
    return "classification" if few_integers else "regression"


def encode(tok: Any, texts: list[str], max_length: int) -> np.ndarray:
    """rows × 2 × length int64: token ids and attention mask, padded to the longest row."""
    enc = tok(texts, truncation=True, max_length=max_length, padding="longest")
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    mask = np.asarray(enc["attention_mask"], dtype=np.int64)
    if ids.ndim != 2 or ids.shape[1] < _MIN_TEXT_LENGTH:
        raise DataError("data: the tokenizer produced no tokens for the text column")
    return np.stack([ids, mask], axis=1)


def load_text_dataset(
    cfg: DataConfig,
    model: ModelConfig,
    seed: int,
    data_dir: Path | None = None,
    val_dir: Path | None = None,
) -> Dataset:
    """Read, split (seeded, as every source) and tokenise a text CSV."""
    assert cfg.uri is not None  # DataConfig's validator guarantees it
    texts, y = read_text_csv(resolve_location(cfg.uri, data_dir), cfg.text_column, cfg.target)
    order = np.random.default_rng(seed).permutation(len(texts))
    if cfg.limit is not None:
        order = order[: cfg.limit]
    texts, y = [texts[i] for i in order], y[order]
    if val_dir is not None:
        val_texts, val_y = read_text_csv(val_dir, cfg.text_column, cfg.target)
        n_val = len(val_texts)
        texts, y = val_texts + texts, np.concatenate([val_y, y])
    else:
        n_val = round(len(texts) * cfg.val_fraction)
    task = _task(cfg, y)
    classes: list[str] | None = None
    if task == "classification":
        y, classes = _encode_labels(y)
    elif y.dtype.kind in "USO":
        raise DataError(f"data.target {cfg.target!r} is not numeric; regression needs numbers")
    else:
        y = y.reshape(-1, 1).astype(np.float32)
    x = encode(load_tokenizer(model), texts, cfg.max_length)
    if len(x) - n_val == 0:
        raise DataError("data: no training rows left after the validation split")
    y_dtype = torch.int64 if task == "classification" else torch.float32
    x_t, y_t = torch.from_numpy(x), torch.as_tensor(y, dtype=y_dtype)
    return Dataset(
        x_all=x_t[n_val:].contiguous(),
        y_all=y_t[n_val:].contiguous(),
        val_x=x_t[:n_val].contiguous() if n_val else None,
        val_y=y_t[:n_val].contiguous() if n_val else None,
        task="classification" if task == "classification" else "regression",
        input_shape=tuple(int(d) for d in x.shape[1:]),
        num_outputs=len(classes) if classes is not None else 1,
        classes=classes,
        meta={"source": cfg.source, "rows": len(x), "tokens_per_row": int(x.shape[2])},
    )


class SequenceClassifier(nn.Module):
    """A ``*ForSequenceClassification`` model fed the trainer's rows × 2 × length tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(input_ids=x[:, 0], attention_mask=x[:, 1])
        logits: torch.Tensor = out.logits
        return logits


def build_hf_model(cfg: ModelConfig, num_outputs: int) -> nn.Module:
    """AutoModelForSequenceClassification for ``model.name`` with ``num_outputs`` labels."""
    check_args(cfg)
    tf = _transformers()
    tok = load_tokenizer(cfg)
    overrides = dict(cfg.args.get("config", {}))
    revision = cfg.args.get("revision")
    try:
        config = tf.AutoConfig.from_pretrained(
            cfg.name, num_labels=num_outputs, revision=revision, **overrides
        )
        if config.pad_token_id is None:
            config.pad_token_id = tok.pad_token_id
        auto = tf.AutoModelForSequenceClassification
        if cfg.args.get("pretrained", True):
            model = auto.from_pretrained(cfg.name, config=config, revision=revision)
        else:
            model = auto.from_config(config)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model.name: cannot build a sequence classifier from {cfg.name!r}: {exc}",
            hint="use a hub id (network needed) or a directory written by save_pretrained",
        ) from exc
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return SequenceClassifier(model)


def save_pretrained(model: nn.Module, cfg: ModelConfig, out_dir: Path) -> None:
    """Also write the fine-tuned model and its tokenizer in Hugging Face's own layout."""
    if isinstance(model, SequenceClassifier):
        model.model.save_pretrained(out_dir)  # type: ignore[operator]
        load_tokenizer(cfg).save_pretrained(out_dir)
