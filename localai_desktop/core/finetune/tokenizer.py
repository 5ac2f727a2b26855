"""llama.cpp's own tokenizer for a GGUF model (vocabulary only), so training sees chat's tokens."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from localai_desktop.core.common.errors import ModelLoadError
from localai_desktop.core.inference.llama_runtime import llama_cpp_module
from localai_desktop.core.models.gguf_header import parse_gguf_file


class GgufTokenizer:
    """The vocabulary of a GGUF model loaded without its weights (fast, little memory).

    Token ids are the rows of the model's embedding, so they are also the ids transformers
    uses for the same GGUF file. Use from one thread; close() (or `with`) frees it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # The header only (a tokenizer-only file is fine here, unlike for chat).
        header, _ = parse_gguf_file(self.path)
        template = header.fields.get("tokenizer.chat_template")
        self.chat_template: str | None = (
            template if isinstance(template, str) and template else None
        )
        self.architecture = str(header.fields.get("general.architecture", ""))
        llama_cpp = llama_cpp_module()
        from llama_cpp._internals import LlamaModel

        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            # verbose=True: llama.cpp's log is already routed to Python logging; False would
            # redirect the process's stderr while loading, which races with other threads.
            self._model = LlamaModel(path_model=str(self.path), params=params, verbose=True)
        except ValueError as error:
            raise ModelLoadError(
                f"The vocabulary of '{self.path.name}' could not be read.",
                "The file may be damaged; import the model again.",
            ) from error
        vocab = self._model.vocab
        bos = int(llama_cpp.llama_vocab_bos(vocab))
        eos = int(llama_cpp.llama_vocab_eos(vocab))
        eot = int(llama_cpp.llama_vocab_eot(vocab))
        adds_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.bos_ids: tuple[int, ...] = (bos,) if adds_bos and bos >= 0 else ()
        # Without a template the answer is followed by the token chat stops on.
        self.eos_id: int | None = eos if eos >= 0 else (eot if eot >= 0 else None)
        self.bos_text = self.token_text(bos)
        self.eos_text = self.token_text(eos)
        self.vocab_size = int(llama_cpp.llama_vocab_n_tokens(vocab))

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, special tokens recognised, no BOS added (as chat tokenizes)."""
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def token_text(self, token: int) -> str:
        if token < 0:  # LLAMA_TOKEN_NULL: the model has no such token
            return ""
        return self._model.token_get_text(token)

    def close(self) -> None:
        self._model.close()

    def __enter__(self) -> GgufTokenizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
