"""Build a tiny model and its tokenizer from scratch, offline, for CPU runs and tests.

Nothing here downloads anything: the tokenizer is a byte-level BPE trained with the `tokenizers` library on the
trajectory text itself, and the model is a randomly initialised Qwen3 built from a config object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

from .config import PRE_TOKENIZERS

# Turn markers: special (stripped by skip_special_tokens). <|im_end|> is also the EOS, so generation stops at the
# end of an assistant turn, and it is inside the generation block, so the model learns to emit it.
PAD_TOKEN = "<|endoftext|>"
TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, TURN_START, TURN_END]
# Structural tags: single tokens (easy to learn for a tiny model) but not special, so decoding keeps them and the
# tool-call parser sees them.
TAG_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<tools>", "</tools>"]

# Text the chat template adds around messages; fed to the tokenizer trainer so that it gets merges too.
_TEMPLATE_BOILERPLATE = [
    "system\n",
    "user\n",
    "assistant\n",
    "tool\n",
    "You can call these tools:\n",
    'To call a tool, write <tool_call>{"name": <tool name>, "arguments": <JSON object>}</tool_call>.',
    '{"name": ',
    ', "arguments": ',
    "Tools (name?: optional):\n",
]


# model.prompt_style -> the chat template file (package data). Both render tool calls identically, so one parser
# (train/toolcall.py) reads them; "compact" shortens the system prompt for small models (see the template).
PROMPT_TEMPLATES = {"full": "templates/tiny_chat.jinja", "compact": "templates/tiny_chat_compact.jinja"}


def tiny_chat_template(prompt_style: str = "full") -> str:
    """The Jinja chat template of the tiny model for `prompt_style` (shipped as package data)."""
    return resources.files("train").joinpath(PROMPT_TEMPLATES[prompt_style]).read_text(encoding="utf-8")


def conversation_texts(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Every piece of text a conversation contributes once rendered: contents, tool calls, tool schemas."""
    yield from _TEMPLATE_BOILERPLATE
    for row in rows:
        tools = row.get("tools")
        if tools:
            for tool in json.loads(tools) if isinstance(tools, str) else tools:
                yield json.dumps(tool, ensure_ascii=False)
        for message in row["messages"]:
            if message.get("content"):
                yield message["content"]
            for call in message.get("tool_calls") or []:
                yield json.dumps(call["function"]["name"])
                yield call["function"]["arguments"]


# How text is cut into words before BPE merges within them (model.tiny.pre_tokenizer):
#   "byte_level": GPT-2's rule, a word carries the space before it (" aiko" in a sentence, "aiko" after a quote);
#   "words": a word or number carries the space after it and a double quote is a word of its own, so a value
#     the user types ("My email is aiko.tanaka@example.jp.") and the same value in a JSON argument
#     ('{"email": "aiko.tanaka@example.jp"}') are the same tokens (mid-sentence, the space after a value rides on
#     its last token); a model trained from scratch can then copy it with plain induction (the next token is the
#     one that followed the current token earlier), where with "byte_level" the first tokens differ. 3% more
#     tokens than "byte_level" on the trajectories (1,341 against 1,297 per compact conversation).
_WORDS_PATTERN = r'\p{L}+ ?|\p{N}+ ?|"|[^\s\p{L}\p{N}"]+ ?|\s+'


def _pre_tokenizer(name: str):
    from tokenizers import Regex, pre_tokenizers

    if name == "byte_level":
        return pre_tokenizers.ByteLevel(add_prefix_space=False)
    if name == "words":
        # Split first, then map bytes to ByteLevel's printable alphabet without its own GPT-2 split.
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(_WORDS_PATTERN), behavior="isolated"),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    raise ValueError(f"pre_tokenizer {name!r} is not one of {', '.join(PRE_TOKENIZERS)}")


def split_tiny_settings(tiny: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """model.tiny -> (BPE vocabulary size, pre-tokenizer, the rest: Qwen3Config keys for build_model).

    The one place that says which keys are the tokenizer's: Qwen3Config accepts unknown keys silently, so a
    tokenizer key left in the rest would be carried into the model config unnoticed."""
    architecture = dict(tiny)
    vocab_size = int(architecture.pop("vocab_size", 512))
    pre_tokenizer = architecture.pop("pre_tokenizer", PRE_TOKENIZERS[0])
    return vocab_size, pre_tokenizer, architecture


def build_tokenizer(texts: Iterable[str], vocab_size: int, prompt_style: str = "full",
                    pre_tokenizer: str = PRE_TOKENIZERS[0]):
    """Train a byte-level BPE tokenizer and wrap it as a fast transformers tokenizer with the tiny chat template.

    Byte-level means every string is encodable (no unknown token), which matters because agents will feed the
    model tool results it never saw in training. `pre_tokenizer` is one of PRE_TOKENIZERS.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = _pre_tokenizer(pre_tokenizer)
    backend.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps character offsets exact; the assistant mask is computed from offsets.
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    backend.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAG_TOKENS])

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=TURN_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[TURN_START],
        clean_up_tokenization_spaces=False,
        model_max_length=1 << 20,
    )
    tokenizer.chat_template = tiny_chat_template(prompt_style)
    return tokenizer


def build_model(tokenizer, architecture: dict[str, Any], seed: int):
    """A randomly initialised Qwen3 causal LM sized by `architecture` (keys of transformers' Qwen3Config)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    settings = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": True,
    }
    settings.update(architecture)
    # `embedding_rows` pads the embedding table beyond the tokenizer (as Qwen pads 151,669 tokens to 151,936 rows),
    # so a model can have a released model's shape while its tokenizer is trained on a little data.
    rows = max(len(tokenizer), int(settings.pop("embedding_rows", 0)))
    config = Qwen3Config(
        vocab_size=rows,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **settings,
    )
    # Seed right before construction so that the initial weights depend on the seed alone.
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
