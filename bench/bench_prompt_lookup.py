"""Prompt lookup decoding on a 0.5B-class model that quotes its prompt (issue 18).

Run by hand:  PYTHONPATH=. .venv/bin/python bench/bench_prompt_lookup.py [--rounds 3]
(makes bench/models/copying-qwen2-0.5b-Q4_K_M.gguf first, about 2 minutes; then about a minute
a round on 2 quiet cores).

Prompt lookup pays where decoding is bound by reading the weights (a 0.5B model and up: checking
9 tokens in one batch costs little more than writing one) and the answer repeats its prompt. No
trained model of that size is on this machine, and random weights never copy, so the model here
is make_models.write_random_qwen2 with `successors`: Qwen2-0.5B's shapes, quantization and work
per token (every layer is computed), but its output layer continues the letter paragraph
below token by token, with one change ("five milligrams" becomes "six milligrams"; the paragraph
has no repeated token, so the walk is exact). So its answers are the paragraph with one change,
as the issue's "repeat this paragraph with one change" task asks: drafts from the prompt are
rejected at the change and taken up again after it. A trained model quoting a passage behaves
alike while it quotes; the more it paraphrases, the more drafts are rejected and the gain
shrinks (stories260K in bench/README.md shows that side).

Two tasks, each answered at temperature 0 with `draft="none"` and `draft="prompt-lookup"`,
alternating round by round: "repeat this paragraph with one change" (a 120-token prompt), and
a document question whose answer quotes the paragraph (with the same change) from a 2,000-token
prompt of other text around it.
Printed per task: decoding tokens/s of both (the app's own figure: tokens after the first over
the time since the first), the ratio (goal >= 1.3) and whether the texts were identical.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchlib import (  # also puts the repo on sys.path
    BENCH_DIR,
    REPO_ROOT,
    ForeignLoad,
    machine_line,
    markdown_table,
    quiet_llama_logs,
    save_json,
    wait_for_quiet,
)
from make_models import GPT2_TOKENIZER, QWEN2_0_5B, write_random_qwen2

from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan, plan_prompt
from tests.support import gguf_factory

MODEL = BENCH_DIR / "models" / "copying-qwen2-0.5b-one-change-Q4_K_M.gguf"
# No token twice, so "the token after this one" is always the paragraph's own next token.
PARAGRAPH = (
    "Before discharge Mrs Hallam's warfarin dose was reduced from five milligrams daily to four "
    "because her INR rose above three after starting clarithromycin for one chest infection. "
    "Her GP should recheck it within seven days and again another week once antibiotics finish; "
    "she knows that unusual bruising, dark stools or nosebleeds must be reported immediately "
    "(written guidance came in large print). Physiotherapy advised short walks with my stick: "
    "increasing gradually over the next month!"
)
ANSWER_CUE = "\nThe quoted text follows"  # its last token starts the paragraph
# The model's answer: the paragraph with one change (a dose written differently).
CHANGED = PARAGRAPH.replace(" from five milligrams", " from six milligrams")
ANSWER_TOKENS = 96  # one copy of the 98-token paragraph, not a loop over it
DOC_PROMPT_TOKENS = 2000


def tokenize(text: str) -> list[int]:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(GPT2_TOKENIZER), vocab_only=True, verbose=False)
    try:
        return list(vocab.tokenize(text.encode(), add_bos=False, special=False))
    finally:
        vocab.close()


def make_model() -> Path:
    """The copying model: ANSWER_CUE's last token starts CHANGED, each token its next."""
    if MODEL.is_file():
        return MODEL
    paragraph = tokenize(CHANGED)
    cue = tokenize(ANSWER_CUE)[-1]
    assert CHANGED != PARAGRAPH and len(paragraph) == len(tokenize(PARAGRAPH))
    assert len(set(paragraph)) == len(paragraph) and cue not in paragraph
    successors = {cue: paragraph[0], paragraph[-1]: paragraph[0]}
    successors.update(itertools.pairwise(paragraph))
    f16 = MODEL.with_name(MODEL.name.replace("Q4_K_M", "F16") + ".partial")
    partial = MODEL.with_suffix(".gguf.partial")
    print(f"writing {MODEL.name} ...", flush=True)
    started = time.perf_counter()
    write_random_qwen2(f16, QWEN2_0_5B, label="0.5B copying", successors=successors)
    gguf_factory.quantize(f16, partial, "Q4_K_M")
    f16.unlink()
    partial.replace(MODEL)
    print(f"  {MODEL.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - started:.0f} s")
    return MODEL


def prompts(engine: LlamaEngine) -> dict[str, PromptPlan]:
    """The two tasks' prompts, as raw tokens ending with ANSWER_CUE."""
    tok = engine.tokenize
    repeat = [
        *tok("Repeat this paragraph word for word, but with six milligrams instead of five.\n\n"),
        *tok(PARAGRAPH),
        *tok(ANSWER_CUE),
    ]
    # Other prose around the letter's paragraph, as retrieved passages are: this repository's
    # own documentation, cut so the prompt is DOC_PROMPT_TOKENS long.
    filler = " ".join(
        " ".join((REPO_ROOT / name).read_text(encoding="utf-8").split())
        for name in ("docs/TEAM.md", "ARCHITECTURE.md")
    )
    words = filler.split()
    before = tok(" ".join(words[:600]) + "\n\n")
    middle = [*tok(PARAGRAPH), *tok("\n\n")]
    question = [
        *tok("\n\nWhat does the letter say about the warfarin dose? Quote it."),
        *tok(ANSWER_CUE),
    ]
    budget = DOC_PROMPT_TOKENS - len(before) - len(middle) - len(question)
    document = [*before, *middle, *tok(" ".join(words[600:]))[: max(0, budget)], *question]
    plans = {}
    for name, tokens in (("repeat a paragraph", repeat), ("document question", document)):
        plan = plan_prompt(
            [ChatTurn("user", "x")],
            engine.formatter,
            engine.tokenize,
            n_ctx=4096,
            max_tokens=ANSWER_TOKENS,
            bos_token_ids=engine.bos_token_ids,
        )
        plans[name] = replace(plan, tokens=tokens)
    return plans


def answer(engine: LlamaEngine, plan: PromptPlan, draft: str) -> tuple[float, str]:
    engine.draft = draft
    pieces: list[str] = []
    settings = GenerationSettings(max_tokens=ANSWER_TOKENS, temperature=0.0, seed=1)
    stats = engine.generate(plan, settings, pieces.append)
    assert stats.tokens_per_second is not None
    return stats.tokens_per_second, "".join(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    quiet_llama_logs()
    path = make_model()
    print(machine_line())
    engine = LlamaEngine(n_threads=args.threads, flash_attn=True)
    engine.load(path, n_ctx=4096)
    plans = prompts(engine)
    results: dict[str, dict[str, list[Any]]] = {
        name: {"none": [], "prompt-lookup": [], "same": [], "copied": []} for name in plans
    }
    loads = []
    for round_number in range(args.rounds):
        wait_for_quiet(max_wait_s=30)
        load = ForeignLoad()
        for name, plan in plans.items():
            order = (
                ("none", "prompt-lookup") if round_number % 2 == 0 else ("prompt-lookup", "none")
            )
            texts = {}
            for draft in order:
                speed, texts[draft] = answer(engine, plan, draft)
                results[name][draft].append(speed)
            results[name]["same"].append(texts["none"] == texts["prompt-lookup"])
            answer_text = texts["none"].strip()
            results[name]["copied"].append(
                len(answer_text) > 300 and CHANGED.startswith(answer_text)
            )
        loads.append(load.stop())
        print(
            f"round {round_number + 1}: "
            + "; ".join(
                f"{n}: {r['none'][-1]:.1f} vs {r['prompt-lookup'][-1]:.1f} tok/s"
                for n, r in results.items()
            )
            + f" (foreign load {loads[-1]:.0%})",
            flush=True,
        )
    engine.unload()
    rows = []
    for name, r in results.items():
        ratios = [b / a for a, b in zip(r["none"], r["prompt-lookup"], strict=True)]
        rows.append(
            [
                name,
                f"{len(plans[name].tokens)}",
                f"{statistics.median(r['none']):.1f}",
                f"{statistics.median(r['prompt-lookup']):.1f}",
                f"{statistics.median(ratios):.2f}",
                f"{sum(r['same'])}/{len(r['same'])}",
                f"{sum(r['copied'])}/{len(r['copied'])}",
            ]
        )
    print(
        markdown_table(
            [
                "task",
                "prompt tokens",
                "tok/s plain",
                "tok/s prompt lookup",
                "ratio (goal >= 1.3)",
                "identical text",
                "answer = the paragraph with the change",
            ],
            rows,
        )
    )
    print(f"foreign load per round: {', '.join(f'{x:.0%}' for x in loads)}")
    save_json("prompt-lookup", {"rows": rows, "loads": loads, "threads": args.threads})


if __name__ == "__main__":
    main()
