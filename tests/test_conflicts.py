"""The rule-based contradiction detector on a labelled table written for it (not taken from any
benchmark): pairs of statements about one subject, each marked as a contradiction or not.
Precision and recall are printed and must stay at or above the floors below."""

from __future__ import annotations

import pytest

from core.memory.conflicts import conflict

# (subject, earlier statement, later statement, contradicts?)
PAIRS: list[tuple[str, str, str, bool]] = [
    # where someone lives
    ("Sam", "Sam lives in Paris.", "Sam moved to Berlin last spring.", True),
    ("Sam", "Sam lives in Paris.", "Sam lives in Berlin now.", True),
    ("Sam", "Sam lives in Paris.", "Sam lives in Paris, near the canal.", False),
    ("Sam", "Sam lives in Paris.", "Sam loves the bakeries in Paris.", False),
    ("Mia", "Mia lives on Elm Street.", "Mia moved into a flat on Oak Avenue.", True),
    ("Mia", "Mia lives in Denver.", "Mia visited Chicago for a conference.", False),
    ("Leo", "Leo lives in Lisbon with his sister.", "Leo relocated to Porto for work.", True),
    ("Leo", "Leo lives in Lisbon.", "Leo also has a summer house in the Algarve.", False),
    # where someone works
    ("Ana", "Ana works at Acme.", "Ana joined Globex in March.", True),
    ("Ana", "Ana works at Acme.", "Ana works at Acme as a designer.", False),
    ("Ana", "Ana works for the city council.", "Ana works for a bakery downtown.", True),
    ("Ana", "Ana works at Acme.", "Ana had lunch with her team at Acme.", False),
    ("Raj", "Raj is employed at Northwind.", "Raj was hired by Contoso last week.", True),
    ("Raj", "Raj works at Northwind.", "Raj likes the coffee at Northwind.", False),
    # occupation
    ("Kim", "Kim works as a nurse.", "Kim works as a teacher now.", True),
    ("Kim", "Kim is a painter.", "Kim is a sculptor these days.", True),
    ("Kim", "Kim works as a nurse.", "Kim finished a long shift at the hospital.", False),
    # study
    ("Tom", "Tom studies at MIT.", "Tom is studying at Stanford now.", True),
    ("Tom", "Tom studies at MIT.", "Tom studies physics at MIT.", False),
    # names
    ("the dog", "The dog is called Biscuit.", "The dog is called Pepper.", True),
    ("the dog", "The dog is called Biscuit.", "The dog loves long walks.", False),
    ("Lena", "Lena's name is Lena Park.", "Lena goes by Lee at work.", True),
    # relationship status
    ("Jo", "Jo is single.", "Jo got married in June.", True),
    ("Jo", "Jo is married.", "Jo got divorced last year.", True),
    ("Jo", "Jo is engaged.", "Jo is engaged to Max.", False),
    ("Jo", "Jo is dating someone.", "Jo went hiking on Saturday.", False),
    ("Jo", "Jo is married.", "Jo is married and has two kids.", False),
    # age
    ("Eli", "Eli is 29 years old.", "Eli turned 30 last week.", True),
    ("Eli", "Eli is 29 years old.", "Eli is 29 years old and loves chess.", False),
    # favourites and preferences
    ("Sam", "Sam's favourite food is sushi.", "Sam's favourite food is tacos.", True),
    ("Sam", "Sam's favourite colour is blue.", "Sam's favourite colour is blue, always.", False),
    ("Sam", "Sam prefers tea.", "Sam prefers coffee these days.", True),
    ("Sam", "Sam likes tea.", "Sam also likes coffee.", False),
    ("Sam", "Sam likes jazz the most.", "Sam likes techno the most now.", True),
    # vehicles and pets
    ("Ben", "Ben drives a Volvo.", "Ben drives a Tesla now.", True),
    ("Ben", "Ben drives a Volvo.", "Ben washed his Volvo on Sunday.", False),
    ("Ben", "Ben has a dog.", "Ben has a cat.", True),
    ("Ben", "Ben has a dog.", "Ben also has a cat.", False),
    # unrelated statements about the same subject
    ("Zoe", "Zoe ran a marathon in April.", "Zoe ran a half marathon in May.", False),
    ("Zoe", "Zoe plays the violin.", "Zoe plays the piano too.", False),
    ("Zoe", "Zoe lives in Oslo.", "Zoe works at a museum in Oslo.", False),
    ("Zoe", "Zoe works at the museum.", "Zoe lives near the museum.", False),
]

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.8


def test_the_table_is_large_and_balanced_enough() -> None:
    assert len(PAIRS) >= 40
    positives = sum(1 for *_, label in PAIRS if label)
    assert 15 <= positives <= len(PAIRS) - 15


def test_precision_and_recall_on_the_labelled_table(capsys: pytest.CaptureFixture[str]) -> None:
    predicted = [conflict(old, new, subject) is not None for subject, old, new, _ in PAIRS]
    labels = [label for *_, label in PAIRS]
    hits = sum(p and t for p, t in zip(predicted, labels, strict=True))
    precision = hits / max(1, sum(predicted))
    recall = hits / sum(labels)
    wrong = [pair[1:3] for pair, p in zip(PAIRS, predicted, strict=True) if p != pair[3]]
    with capsys.disabled():
        print(f"\ncontradiction rule: precision {precision:.2f}, recall {recall:.2f} on {len(PAIRS)} pairs")
    assert precision >= PRECISION_FLOOR, wrong
    assert recall >= RECALL_FLOOR, wrong


def test_a_proposal_says_what_changed() -> None:
    proposal = conflict("Sam lives in Paris.", "Sam moved to Berlin.", "Sam")
    assert proposal is not None
    assert proposal.attribute == "residence"
    assert proposal.reason == "Sam's residence was paris, now berlin"
    assert conflict("Sam lives in Paris.", "Sam moved to Berlin.", "Sam", similarity=0.1) is None
