"""`response_format` as a llama.cpp grammar (GBNF), so the model can only write valid JSON."""

from __future__ import annotations

import json
import logging

from localai_desktop.core.server.errors import bad_request
from localai_desktop.core.server.parsing import ResponseFormat

log = logging.getLogger(__name__)

# The converter lets a string hold raw control characters (a newline), which strict JSON
# parsers refuse; JSON_GBNF's own string rule leaves them out, and so does ours.
_LOOSE_CHAR = r'char ::= [^"\\]'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'


def grammar_for(response_format: ResponseFormat | None) -> str | None:
    """The GBNF grammar that forces the answer into this shape; None for plain text.

    A JSON schema is translated by llama-cpp-python's own converter (the one llama.cpp's
    server uses); a schema it cannot translate is refused with a 400 before any work starts.
    """
    if response_format is None:
        return None
    # Pure Python modules, but importing them loads llama.cpp: only when a request asks.
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    if response_format.kind == "json_object":
        return str(JSON_GBNF)
    try:
        grammar = str(json_schema_to_gbnf(json.dumps(response_format.schema)))
    except Exception as error:  # the converter raises bare Exceptions, among others
        log.info("JSON schema not converted to a grammar: %s", error)
        raise bad_request(
            f"The JSON schema could not be turned into a grammar ({error}). Simplify the "
            "schema (plain objects, arrays, strings, numbers, enums and local $refs work).",
            param="response_format",
        ) from error
    return grammar.replace(_LOOSE_CHAR, _STRICT_CHAR)
