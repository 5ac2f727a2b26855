"""The document-search evaluation set: files with known facts and questions whose answer is known.

`write_eval_set(folder)` writes the documents (PDF, DOCX, HTML, Markdown, text) and returns
the questions. Each fact sits in exactly one passage; a question is answered when a hit comes
from the fact's file and contains the fact's sentence. What makes it hard, on purpose:

- distractor text everywhere that shares the facts' vocabulary (wards, clauses, doses, courts);
- near-duplicates: two editions of the sepsis guideline and two versions of a lease that differ
  only in a few numbers; the question names the edition;
- long PDFs (60 and 120 pages) with facts on late pages;
- two kinds of question per fact: "keyword" ones that reuse the document's rare words and codes
  (what BM25 is good at) and "paraphrase" ones that say the same thing in other words (what
  vectors are good at).

Run it alone to write the set and print its size: `python bench/documents_eval.py OUT_DIR`.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fact:
    file: str
    page: int  # 1-based page for PDFs; the section number otherwise
    sentence: str
    keyword_question: str
    paraphrase_question: str


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # "keyword" or "paraphrase"
    file: str
    sentence: str


def _facts() -> list[Fact]:
    s19, s23 = "sepsis-guideline-2019.pdf", "sepsis-guideline-2023.pdf"
    manual, bundle = "hospital-policy-manual.pdf", "hearing-bundle.pdf"
    lease_a, lease_b = "lease-hartwell-2018.docx", "lease-hartwell-2022-amended.docx"
    return [
        Fact(
            s23,
            3,
            "In the 2023 edition, broad-spectrum antibiotics are given within 60 "
            "minutes of sepsis recognition, after two sets of blood cultures.",
            "2023 sepsis guideline antibiotics within how many minutes of recognition?",
            "Under the newer 2023 protocol, how fast must someone with suspected blood "
            "poisoning receive antimicrobial drugs?",
        ),
        Fact(
            s19,
            3,
            "In the 2019 edition, broad-spectrum antibiotics are given within three "
            "hours of sepsis recognition, after one set of blood cultures.",
            "2019 sepsis guideline antibiotics within how many hours of recognition?",
            "Under the older 2019 protocol, how quickly did a patient with suspected blood "
            "poisoning have to get antimicrobial drugs?",
        ),
        Fact(
            s23,
            5,
            "In the 2023 edition, a lactate above 2 mmol/L prompts a 30 ml/kg "
            "crystalloid bolus over 15 minutes.",
            "2023 lactate above 2 mmol/L crystalloid bolus ml/kg",
            "What amount of intravenous fluid does the 2023 version recommend when the "
            "blood acid marker is raised?",
        ),
        Fact(
            s19,
            5,
            "In the 2019 edition, a lactate above 4 mmol/L prompts a 20 ml/kg "
            "crystalloid bolus over 30 minutes.",
            "2019 lactate above 4 mmol/L crystalloid bolus ml/kg",
            "What volume of drip fluids did the 2019 version advise when the blood acid "
            "marker was high?",
        ),
        Fact(
            s23,
            8,
            "The 2023 escalation rule: a NEWS2 score of 5 or more triggers review "
            "by the critical care outreach team within 30 minutes.",
            "2023 NEWS2 score 5 critical care outreach review",
            "When should the intensive care response team come to see a deteriorating "
            "patient according to the 2023 rules?",
        ),
        Fact(
            s23,
            11,
            "Sepsis audits in the 2023 edition are reported quarterly to the "
            "Deteriorating Patient Committee chaired by Dr Okonkwo.",
            "Deteriorating Patient Committee Okonkwo sepsis audit",
            "Who leads the group that receives the sepsis audit results every three months?",
        ),
        Fact(
            manual,
            41,
            "Patients who self-discharge against medical advice sign form "
            "DAMA-7 and the ward clerk scans it within one working day.",
            "form DAMA-7 self-discharge",
            "What paperwork is needed when someone leaves hospital although the doctors "
            "advise against it?",
        ),
        Fact(
            manual,
            52,
            "Controlled drug cupboards are checked by two registered nurses at "
            "every shift change and discrepancies go to the pharmacy on extension 4471.",
            "controlled drug cupboard extension 4471 discrepancies",
            "How often are the cabinets for opioids and other restricted medicines "
            "inspected, and by whom?",
        ),
        Fact(
            manual,
            58,
            "Bariatric beds rated to 450 kg are ordered from the equipment "
            "library through the Medequip portal before the patient arrives.",
            "bariatric beds 450 kg Medequip portal",
            "How do staff get a heavy-duty bed for a very large patient?",
        ),
        Fact(
            manual,
            59,
            "Interpreters for British Sign Language are booked through the "
            "Signbridge agency at least 48 hours in advance.",
            "British Sign Language interpreter Signbridge booking",
            "How far ahead must a signer be arranged for a deaf patient?",
        ),
        Fact(
            manual,
            12,
            "Hand gel dispensers are refilled daily by the domestic team and "
            "audited monthly by infection prevention.",
            "hand gel dispensers refilled domestic team",
            "Who tops up the alcohol rub stations on the wards and how often?",
        ),
        Fact(
            manual,
            27,
            "Blood glucose below 4 mmol/L is treated with 15 to 20 g of fast-acting "
            "carbohydrate and rechecked after 15 minutes.",
            "blood glucose below 4 mmol/L 15 to 20 g carbohydrate",
            "What should be given to a diabetic whose sugar level drops too low?",
        ),
        Fact(
            bundle,
            97,
            "Exhibit 77: the delivery note for consignment KX-20931 was signed by "
            "the warehouse manager, Mr Tillett, on 12 May 2019.",
            "consignment KX-20931 delivery note signed",
            "Who confirmed that the shipment had arrived, and when?",
        ),
        Fact(
            bundle,
            113,
            "Exhibit 91: the defendant's email of 3 June 2019 admits that the "
            "pallets were stored outdoors for eleven days.",
            "exhibit 91 email 3 June 2019 pallets stored outdoors",
            "Is there written proof that the goods were left outside in the rain?",
        ),
        Fact(
            bundle,
            64,
            "Witness statement of Ms Ferreira: the forklift log shows no "
            "movements on the weekend of 18 and 19 May 2019.",
            "Ferreira forklift log weekend 18 19 May",
            "What do the loading vehicle records show about that Saturday and Sunday?",
        ),
        Fact(
            bundle,
            120,
            "The claimant quantifies its loss at 184,500 euros, including "
            "22,300 euros for expedited replacement freight.",
            "claimant loss 184,500 euros expedited freight",
            "How much money is the company suing for?",
        ),
        Fact(
            lease_b,
            4,
            "Clause 14.3(b) as amended in 2022: the tenant may sublet up to 40 "
            "percent of the floor area with the landlord's written consent.",
            "clause 14.3(b) amended 2022 sublet floor area",
            "Under the amended lease, how much of the space can the renter let to someone else?",
        ),
        Fact(
            lease_a,
            4,
            "Clause 14.3(b) in the 2018 lease: the tenant may not sublet any part of the premises.",
            "clause 14.3(b) 2018 lease sublet",
            "Did the original lease let the renter pass part of the property to others?",
        ),
        Fact(
            lease_b,
            2,
            "The 2022 amended rent is 14,750 pounds per quarter, reviewed every "
            "three years by reference to the CPI index.",
            "2022 amended rent 14,750 pounds per quarter CPI",
            "What does the renter pay under the amended agreement and how is it adjusted?",
        ),
        Fact(
            lease_a,
            2,
            "The 2018 rent is 12,000 pounds per quarter with an open-market "
            "review every five years.",
            "2018 rent 12,000 pounds per quarter open-market review",
            "How much was the rent in the original agreement?",
        ),
        Fact(
            lease_a,
            6,
            "The landlord insures the building against fire, flood and terrorism "
            "and recovers the premium as an insurance rent.",
            "landlord insures building fire flood terrorism insurance rent",
            "Which side pays for cover against the property burning down?",
        ),
        Fact(
            lease_b,
            7,
            "A break option allows the tenant to end the lease on 24 June 2025 "
            "by giving six months' notice.",
            "break option 24 June 2025 six months notice",
            "Can the renter get out of the agreement early?",
        ),
        Fact(
            "ruling-okafor-v-brightline.html",
            2,
            "The tribunal found that Ms Okafor's "
            "dismissal was procedurally unfair because no appeal hearing was offered.",
            "Okafor dismissal procedurally unfair appeal hearing",
            "Why did the employment judges decide the sacking was handled wrongly?",
        ),
        Fact(
            "ruling-okafor-v-brightline.html",
            3,
            "Compensation was assessed at 31,200 pounds, "
            "reduced by 25 percent for contributory conduct.",
            "compensation 31,200 pounds reduced 25 percent contributory conduct",
            "How much was the worker awarded and why was it cut?",
        ),
        Fact(
            "ruling-harlow-council.html",
            2,
            "The court quashed the planning permission because the council ignored the bat survey.",
            "quashed planning permission bat survey",
            "Why was the building approval overturned?",
        ),
        Fact(
            "anticoagulation-notes.md",
            2,
            "Apixaban is paused 48 hours before surgery with "
            "a high bleeding risk and 24 hours before low-risk procedures.",
            "apixaban paused 48 hours before surgery bleeding risk",
            "When should a patient stop their blood thinner before an operation?",
        ),
        Fact(
            "anticoagulation-notes.md",
            3,
            "Warfarin reversal for major bleeding uses "
            "prothrombin complex concentrate 25 to 50 units/kg with 5 mg intravenous "
            "vitamin K.",
            "warfarin reversal prothrombin complex concentrate vitamin K",
            "How is the effect of the old anticoagulant undone in a serious haemorrhage?",
        ),
        Fact(
            "asthma-notes.md",
            2,
            "Adults with a severe attack receive 5 mg nebulised "
            "salbutamol driven by oxygen, repeated every 15 to 30 minutes.",
            "severe asthma salbutamol 5 mg nebulised oxygen",
            "What inhaled drug treats a bad wheezing episode in grown-ups?",
        ),
        Fact(
            "letter-gp-referral.txt",
            1,
            "Mrs Adeyemi, aged 67, has had painless jaundice "
            "and weight loss of 6 kg over two months; please see her on the two-week "
            "pathway.",
            "Adeyemi painless jaundice weight loss two-week pathway",
            "Which patient was sent urgently with yellow skin and losing weight?",
        ),
        Fact(
            "letter-discharge.txt",
            1,
            "Discharge medication: ramipril 2.5 mg once daily "
            "started, bisoprolol increased to 5 mg, furosemide stopped.",
            "discharge ramipril 2.5 mg bisoprolol 5 mg furosemide stopped",
            "Which heart tablets were changed when he went home?",
        ),
    ]


# Distractor vocabulary: the same words the facts use, in sentences that answer nothing.
_SUBJECTS = [
    "The ward team",
    "The nurse in charge",
    "The consultant",
    "The tenant",
    "The landlord",
    "The tribunal",
    "The claimant",
    "The pharmacy team",
    "The duty manager",
    "The clinician",
    "The surveyor",
    "The night staff",
    "The infection prevention nurse",
    "The solicitor",
]
_VERBS = [
    "records",
    "reviews",
    "checks",
    "escalates",
    "documents",
    "confirms",
    "reports",
    "considers",
    "notes",
    "signs",
    "audits",
    "agrees",
]
_OBJECTS = [
    "the observations",
    "the fluid balance chart",
    "the blood cultures",
    "the rent account",
    "the service charge",
    "the repairing obligations",
    "the disclosure list",
    "the care plan",
    "the medication chart",
    "the insurance schedule",
    "the incident form",
    "the handover notes",
    "the lactate result",
    "the antibiotic prescription",
    "the witness list",
    "the floor plan",
    "the consent form",
    "the delivery records",
    "the planning file",
    "the dosing table",
]
_TAILS = [
    "at each shift",
    "before the patient leaves the ward",
    "within the agreed timescale",
    "in line with the policy",
    "unless the lease says otherwise",
    "at the next hearing",
    "when the score changes",
    "in the electronic record",
    "at the quarterly meeting",
    "as soon as practicable",
    "on the standard form",
    "after discussion with the family",
]


def _filler(rng: random.Random, sentences: int) -> str:
    return " ".join(
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
        for _ in range(sentences)
    )


def write_eval_set(folder: Path, *, seed: int = 4) -> list[Question]:
    """Write the documents into `folder`; the questions (two per fact)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    facts = _facts()
    by_file: dict[str, dict[int, list[str]]] = {}
    for fact in facts:
        by_file.setdefault(fact.file, {}).setdefault(fact.page, []).append(fact.sentence)
    pages = {
        "sepsis-guideline-2019.pdf": 12,
        "sepsis-guideline-2023.pdf": 12,
        "hospital-policy-manual.pdf": 60,
        "hearing-bundle.pdf": 120,
    }
    for name, count in pages.items():
        title = name.removesuffix(".pdf").replace("-", " ").title()
        _write_pdf(folder / name, title, count, by_file.get(name, {}), rng)
    for name in ("lease-hartwell-2018.docx", "lease-hartwell-2022-amended.docx"):
        _write_docx(folder / name, name, by_file.get(name, {}), rng)
    for name, heading in (
        ("ruling-okafor-v-brightline.html", "Okafor v Brightline Logistics"),
        ("ruling-harlow-council.html", "R (Friends of Harlow Meadow) v Harlow Council"),
    ):
        _write_html(folder / name, heading, by_file.get(name, {}), rng)
    for name in ("anticoagulation-notes.md", "asthma-notes.md"):
        _write_markdown(folder / name, by_file.get(name, {}), rng)
    for name in ("letter-gp-referral.txt", "letter-discharge.txt"):
        body = " ".join(by_file.get(name, {}).get(1, []))
        (folder / name).write_text(
            f"Dear colleague,\n\n{_filler(rng, 4)} {body} {_filler(rng, 4)}\n"
        )
    questions: list[Question] = []
    for fact in facts:
        questions.append(Question(fact.keyword_question, "keyword", fact.file, fact.sentence))
        questions.append(Question(fact.paraphrase_question, "paraphrase", fact.file, fact.sentence))
    return questions


def _write_pdf(
    path: Path, title: str, count: int, facts: dict[int, list[str]], rng: random.Random
) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for number in range(1, count + 1):
        pdf.add_page()
        sentences = facts.get(number, [])
        body = (
            f"{title} - page {number}\n\n{_filler(rng, 6)} {' '.join(sentences)} {_filler(rng, 6)}"
        )
        pdf.multi_cell(0, 5, body)
    pdf.output(str(path))


def _write_docx(path: Path, name: str, facts: dict[int, list[str]], rng: random.Random) -> None:
    import docx

    year = "2022 amended" if "2022" in name else "2018"
    document = docx.Document()
    document.add_heading(f"Lease of Unit 4, Hartwell Trading Estate ({year})", level=0)
    for clause in range(1, 9):
        document.add_heading(f"Clause {clause + 10} ({year} lease)", level=1)
        document.add_paragraph(_filler(rng, 5))
        for sentence in facts.get(clause, []):
            document.add_paragraph(sentence)
        document.add_paragraph(_filler(rng, 5))
    document.save(str(path))


def _write_html(path: Path, heading: str, facts: dict[int, list[str]], rng: random.Random) -> None:
    sections = []
    for number, title in enumerate(("Background", "Findings", "Remedy", "Costs"), start=1):
        body = " ".join(facts.get(number, []))
        sections.append(f"<h2>{title}</h2><p>{_filler(rng, 5)} {body} {_filler(rng, 4)}</p>")
    path.write_text(
        f"<html><head><title>{heading}</title></head><body><h1>{heading}</h1>"
        + "".join(sections)
        + "</body></html>",
        encoding="utf-8",
    )


def _write_markdown(path: Path, facts: dict[int, list[str]], rng: random.Random) -> None:
    titles = ("Overview", "Before procedures", "Emergencies", "Follow-up")
    parts = [f"# {path.stem.replace('-', ' ').title()}\n"]
    for number, title in enumerate(titles, start=1):
        body = " ".join(facts.get(number, []))
        parts.append(f"## {title}\n\n{_filler(rng, 5)} {body} {_filler(rng, 4)}\n")
    path.write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/documents-eval")
    written = write_eval_set(out)
    print(f"{len(written)} questions over {len(list(out.iterdir()))} files in {out}")
