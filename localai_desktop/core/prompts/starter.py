"""The prompts shipped with the app, for legal and medical work.

They help draft, summarise and check; they never claim legal or medical authority, and each
asks the model to keep what the source says exactly and to mark what a professional should
confirm. Each has a stable key: a workspace is offered each one once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StarterPrompt:
    key: str
    name: str
    category: str
    description: str
    text: str


STARTER_PROMPTS: tuple[StarterPrompt, ...] = (
    StarterPrompt(
        "discharge-plain-v1",
        "discharge-plain",
        "Medical",
        "A discharge letter explained to the patient in plain language",
        "Summarise the discharge letter below for the patient, in plain language at a "
        "{reading level} reading level. Keep every medicine, dose, date and follow-up "
        "appointment exactly as written. End with a short list of questions the patient may "
        "want to ask their own care team. Do not add advice that is not in the letter.\n\n"
        "Letter:\n",
    ),
    StarterPrompt(
        "referral-letter-v1",
        "referral-letter",
        "Medical",
        "A draft referral letter from clinical notes",
        "Draft a referral letter to the {specialty} team, based on the clinical notes below. "
        "Use these headings: reason for referral, relevant history, current medicines, "
        "investigations so far, question for the specialist. Where the notes do not say "
        "something, write [to be completed] rather than guessing.\n\nNotes:\n",
    ),
    StarterPrompt(
        "medication-table-v1",
        "medication-table",
        "Medical",
        "Every medicine mentioned in a text, as a table",
        "List every medicine mentioned in the text below as a table with the columns: "
        "medicine, dose, how often, route, start or stop date, and the sentence it comes from. "
        "Write 'not stated' where the text does not say. Do not suggest any change.\n\n"
        "Text:\n",
    ),
    StarterPrompt(
        "soap-note-v1",
        "soap-note",
        "Medical",
        "Consultation notes structured as a SOAP note",
        "Turn the consultation notes below into a structured note (subjective, objective, "
        "assessment, plan) for {audience}. Keep the clinician's own wording for findings and "
        "decisions, and do not add diagnoses, tests or treatments that are not in the notes.\n\n"
        "Notes:\n",
    ),
    StarterPrompt(
        "appointment-questions-v1",
        "appointment-questions",
        "Medical",
        "Questions a patient may ask at an appointment",
        "Write a short, friendly list of questions a patient could ask their clinician about "
        "{condition or procedure}: what it involves, the risks, the alternatives, recovery, and "
        "what happens next. These are questions to discuss with the care team, not advice.",
    ),
    StarterPrompt(
        "study-summary-v1",
        "study-summary",
        "Medical",
        "A research paper summarised for a chosen reader",
        "Summarise the study below in about {number of words} words for {audience}: the "
        "question, who took part, what was done, the main results with their numbers, and the "
        "limitations. Say clearly what the study cannot show.\n\nStudy:\n",
    ),
    StarterPrompt(
        "clause-risks-v1",
        "clause-risks",
        "Legal",
        "A first review of a clause: the risks for one party",
        "Review the clause below under {jurisdiction} law as far as you know it, and list the "
        "risks for {party}: what could go wrong, how likely it is, and wording that would "
        "reduce the risk. Mark every point a qualified lawyer should confirm. This is a first "
        "review to prepare for advice, not legal advice.\n\nClause:\n",
    ),
    StarterPrompt(
        "contract-summary-v1",
        "contract-summary",
        "Legal",
        "A contract summarised in plain language, clause by clause",
        "Summarise the contract below for {audience} in plain language: the parties, what each "
        "must do, payment, term and termination, liability and indemnities, and any unusual "
        "terms. Give the clause number for each point, and say where the contract is "
        "unclear.\n\nContract:\n",
    ),
    StarterPrompt(
        "key-dates-v1",
        "key-dates",
        "Legal",
        "Every date, deadline and notice period in a document",
        "List every date, deadline, notice period and time limit in the document below as a "
        "table: what it is, when (as written), the clause or page, and what happens if it is "
        "missed. Write 'not stated' where the document does not say.\n\nDocument:\n",
    ),
    StarterPrompt(
        "client-letter-v1",
        "client-letter",
        "Legal",
        "A plain-English letter to a client",
        "Draft a letter to {client name} explaining {topic} in plain English at a "
        "{reading level} reading level. Be accurate and calm, avoid jargon, and end with the "
        "next steps and who to contact. Mark anything I still need to check as [check].",
    ),
    StarterPrompt(
        "compare-versions-v1",
        "compare-versions",
        "Legal",
        "The changes in meaning between two versions of a text",
        "Compare the two versions of the text below and list every change in meaning (not just "
        "in wording) as a table: clause, old wording, new wording, and its effect on {party}."
        "\n\nFirst version:\n\n\nSecond version:\n",
    ),
    StarterPrompt(
        "chronology-v1",
        "chronology",
        "Legal",
        "A chronology of events from case documents",
        "Build a chronology of the events in the documents below: date, event, who was "
        "involved, and the source (document and page). Keep dates exactly as written and flag "
        "any dates that conflict.\n\nDocuments:\n",
    ),
    StarterPrompt(
        "personal-data-check-v1",
        "personal-data-check",
        "General",
        "Personal information in a text, listed for redaction",
        "List every piece of personal information in the text below (names, dates of birth, "
        "addresses, phone numbers, ID, case and record numbers, health details) and where it "
        "appears, so that I can decide what to redact. Do not rewrite the text.\n\nText:\n",
    ),
)
