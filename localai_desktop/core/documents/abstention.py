"""Whether an answer declines to answer: "the documents do not say", "I could not find it".

The abstain rule of Evaluate and the grounding check (which does not count such a sentence as a
claim) read answers with it. By words, no model: a phrase that says the documents (or the
model) do not hold the answer makes an abstention, unless the answer goes on to give one anyway
after it: a guess ("..., but it is probably 48 hours", "It is likely around 1,000 euros"), a
"but"/"however" clause that answers, or a cited passage ("The passages do not mention a fee
because the service is free [2]"). What comes before it does not count against it: an answer
to one part of a question that then says the documents do not hold the rest is an abstention
on what was asked and not found. Measured on 127 labelled answers (bench/bench_abstention.py).
"""

from __future__ import annotations

import re

# What an answer is drawn from; such a subject "does not contain/include/cover" the answer.
_WHERE = (
    r"(documents?|sources?|passages?|context|texts?|materials?|records?|files?|excerpts?|"
    r"information( provided| given)?)"
)
# Verbs of saying: "X does not say/mention/specify" is an abstention whatever X is ("the
# guideline does not say how long"). Verbs of holding only with a document as the subject:
# "the price does not include VAT" and "the policy does not cover dental care" are answers.
_SAY = (
    r"(say|says|mention|mentions|state|states|specify|specifies|tell|tells|answer|answers|"
    r"address|addresses|discuss|discusses|indicate|indicates|describe|describes|refer|"
    r"explain|explains)"
)
_HOLD = (
    r"(contain|contains|include|includes|provide|provides|cover|covers|give|gives|hold|holds|"
    r"list|lists|have|has)"
)
_ABSTENTIONS = tuple(
    re.compile(pattern)
    for pattern in (
        # "The documents do not say", "the guideline doesn't specify", "they do not mention"
        r"\b(do|does|did) not\b[^.!?;]{0,20}?\b" + _SAY + r"\b",
        r"\b" + _WHERE + r"\b[^.!?;]{0,40}\b(do|does|did) not\b[^.!?;]{0,20}?\b" + _HOLD + r"\b",
        # "None of the documents mention", "Neither of the sources says"
        r"\b(none|neither) of (the|these|those|your|my)\b[^.!?;]{0,30}\b("
        + _SAY
        + "|"
        + _HOLD
        + r")\b",
        # "This information isn't in the documents", "That is not in the provided sources"
        r"\bnot (in|from|within) (the|your|these|those|any)( provided| given| shared)? "
        + _WHERE
        + r"\b",
        # "not mentioned in the sources", "not stated anywhere in the documents"
        r"\bnot (mentioned|stated|specified|found|covered|included|provided|given|addressed|"
        r"answered|discussed|available|present|contained|listed|described|there|explained|"
        r"indicated|in)\b[^.!?]{0,30}\b(in|by|from|within|among) (the|your|these|those|any|"
        r"this|that)\b",
        r"\bi (do not|did not|cannot|can not|could not|was not able to|am not able to) "
        r"(know|find|tell|say|answer|determine|see|locate|identify)\b",
        r"\bi (have|had) not been able to (find|answer|tell|determine|say|locate)\b",
        r"\bnot clear (from|in) (the|your|these|those|any)\b",
        r"\bi (am|was|'m) (not able|unable) to (find|answer|tell|determine|say|locate)\b",
        r"\b(unable|not able) to (find|answer|determine|locate|tell)\b",
        r"\bi (do not|did not) have (enough |any |the |that |this |sufficient |such |"
        r"specific |relevant )*(information|answer|data|details?|knowledge)\b",
        r"\bi have no (information|answer|data|details?|knowledge)\b",
        r"\bi (found|find|see|saw|could find|can find) (nothing|no (information|mention|answer|"
        r"details?|data))\b",
        r"\bthere (is|was|are|were|'s) (no|not any) "
        r"(relevant |specific |such |further |additional )?"
        r"(information|mention|answer|data|details?|passages?|reference)\b",
        r"\bno (relevant |specific |such |further |additional )?(information|mention|answer|"
        r"details?|data) (about|on|of|regarding|for|in|was found|were found|is available|"
        r"was available|could be found|can be found)\b",
        r"\b" + _WHERE + r"[^.!?]{0,20}\b(contain|contains|have|has|give|gives|hold|holds|"
        r"provide|provides) no\b",
        r"\b(cannot|can not|could not) be (determined|answered|found|said|told)\b",
        r"\b(is|it's|it is) not possible to (tell|say|determine|know|answer)\b",
        r"\b(nothing|no passage) in (the|your|these|those) (documents?|sources?|passages?|"
        r"files?|context|texts?|excerpts?)\b",
        r"\bthe answer is not in\b",
        r"\b(is|are) silent (on|about)\b",
        r"^\W*(unknown|not known|no answer)\b",
    )
)
# After an abstention: a guess, or an answer anyway.
_GUESS = re.compile(
    r"\b(probably|likely|perhaps|maybe|typically|usually|generally|normally|i think|i believe|"
    r"i guess|i would guess|my guess|i assume|presumably|is about|is around|the usual|"
    r"commonly|in general|most often)\b"
)
_CONTRAST = re.compile(r"\b(but|however|although|though|yet|still|nevertheless)\b")
_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def normalized(text: str) -> str:
    """Lower case, plain apostrophes, contractions spelled out ("don't" -> "do not")."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\bcan't\b", "cannot", text)
    text = re.sub(r"\bwon't\b", "will not", text)
    return re.sub(r"n't\b", " not", text)


def is_abstention(text: str) -> bool:
    """Whether an answer says the documents (or the model) do not hold the answer, without
    going on to give one anyway ("..., but it is probably 48 hours")."""
    plain = normalized(text)
    for pattern in _ABSTENTIONS:
        match = pattern.search(plain)
        if match is not None:
            return not _answers_after(plain[match.end() :])
    return False


def _answers_after(rest: str) -> bool:
    """Whether what follows an abstention guesses or answers after all."""
    if _GUESS.search(rest) or _CITATION.search(rest):
        return True
    contrast = _CONTRAST.search(rest)
    if contrast is None:
        return False
    clause = rest[contrast.end() :]
    return not any(p.search(clause) for p in _ABSTENTIONS)


__all__ = ["is_abstention", "normalized"]
