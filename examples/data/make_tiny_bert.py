"""Write a tiny BERT (config + WordPiece tokenizer, no weights) for offline runs.

The Vertex BERT example names a hub model (``bert-base-uncased``); on the cloud its
weights and tokenizer download from the Hugging Face Hub as usual. Here, without
network, this script builds a stand-in from the bundled reviews: a WordPiece
vocabulary trained on the text and a 2-layer, 64-wide BertConfig. The trainer then
starts it from random weights (``trainer.model.args.pretrained: false``):

    python examples/data/make_tiny_bert.py /tmp/tiny-bert
    cloudgd submit examples/vertex-bert.yaml -p local \\
        --set trainer.model.name=/tmp/tiny-bert --set trainer.model.args.pretrained=false ...

Needs ``transformers`` and ``tokenizers`` (``pip install 'cloudgd[hf]'``); nothing is
downloaded. The output is the same for the same input text.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def texts(csv_path: Path, column: str = "text") -> list[str]:
    with csv_path.open(newline="", encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def build(out_dir: Path, corpus: list[str], vocab_size: int = 400) -> Path:
    """Train the tokenizer on ``corpus`` and save it with a tiny BertConfig to ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertConfig, BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(corpus, WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out_dir)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=128,
        pad_token_id=tok.token_to_id("[PAD]"),
    )
    config.save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_tiny_bert.py OUT_DIR [TEXT_CSV]")
    source = Path(sys.argv[2]) if len(sys.argv) == 3 else HERE / "reviews.csv"
    print(f"wrote {build(Path(sys.argv[1]), texts(source))}")
