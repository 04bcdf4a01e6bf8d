"""How replies are read, measured on a labelled set of real-sounding replies, in English and
Spanish (tests/messaging/replies.csv: text, label, language). Labels:
- clear: a plain request to stop, which must become a hard opt-out;
- unclear: one that may be a revocation, which a person should read: it goes to Possible
  opt-outs;
- ordinary: any other reply, which must never become an opt-out;
- wrong number: the number no longer reaches whoever consented ("Wrong number", "I'm not
  Dana"), which voids its consent (not an opt-out).

The figures are printed at the end of the run and written in the README, which this checks.
"""

import csv
from collections import Counter
from functools import cache
from pathlib import Path

from messaging.keywords import Intent, read

REPLIES = Path(__file__).with_name("replies.csv")
README = Path(__file__).resolve().parents[2] / "README.md"


# A wrong number read so: alone, or in a reply reviewed for what else it says.
WRONG = "read as a wrong number"


@cache
def replies() -> list[tuple[str, str, str, Intent]]:
    with REPLIES.open(encoding="utf-8", newline="") as file:
        return [
            (row["text"], row["label"], row["language"], read(row["text"]).intent)
            for row in csv.DictReader(file)
        ]


@cache
def read_as_wrong() -> set[str]:
    """The texts of the set read as a wrong number, alone or with a review."""
    return {
        text for text, *_ in replies()
        if (reading := read(text)).intent == Intent.WRONG_NUMBER or reading.wrong_number
    }  # fmt: skip


def read_as(label: str) -> Counter:
    return Counter(intent for _, each, _, intent in replies() if each == label)


@cache
def figures() -> dict[str, str]:
    clear, unclear, ordinary = read_as("clear"), read_as("unclear"), read_as("ordinary")
    wrong = read_as("wrong number")
    reviewed = unclear[Intent.POSSIBLE_OPT_OUT]
    return {
        "replies": f"{len(replies())}",
        "languages": ", ".join(
            f"{count} {language}"
            for language, count in sorted(Counter(r[2] for r in replies()).items())
        ),
        "recall": f"{clear[Intent.OPT_OUT] / clear.total():.2f}",
        "clear": f"{clear.total()}",
        "unclear_reviewed": f"{reviewed / unclear.total():.2f}",
        "unclear_opted_out": f"{unclear[Intent.OPT_OUT]}",
        "unclear": f"{unclear.total()}",
        "ordinary_opted_out": f"{ordinary[Intent.OPT_OUT]}",
        "ordinary_reviewed": f"{ordinary[Intent.POSSIBLE_OPT_OUT]}",
        "ordinary": f"{ordinary.total()}",
        "ordinary_wrong": f"{labelled_wrong('ordinary')}",
        "wrong_read": f"{labelled_wrong('wrong number') / wrong.total():.2f}",
        "wrong_reviewed": f"{wrong[Intent.POSSIBLE_OPT_OUT]}",
        "wrong_opted_out": f"{wrong[Intent.OPT_OUT]}",
        "wrong": f"{wrong.total()}",
    }


def summary() -> str:
    """The figures as the README gives them."""
    f = figures()
    return (
        f"On {f['replies']} labelled replies ({f['languages']}): {f['recall']} of the "
        f"{f['clear']} clear requests to stop become hard opt-outs; {f['unclear_reviewed']} of "
        f"the {f['unclear']} unclear ones go to review ({f['unclear_opted_out']} are read as "
        f"opt-outs); {f['ordinary_opted_out']} of the "
        f"{f['ordinary']} ordinary replies become opt-outs ({f['ordinary_reviewed']} sent to "
        f"review, {f['ordinary_wrong']} read as a wrong number); {f['wrong_read']} of the "
        f"{f['wrong']} wrong numbers are read as such ({f['wrong_reviewed']} of them also go "
        f"to review for what else they say; {f['wrong_opted_out']} become opt-outs)."
    )


def labelled_wrong(label: str) -> int:
    return sum(1 for text, each, *_ in replies() if each == label and text in read_as_wrong())


def misread(label: str, wrong: set[Intent]) -> list[str]:
    return [text for text, each, _, intent in replies() if each == label and intent in wrong]


def test_the_set_holds_every_kind_of_reply_in_both_languages():
    assert len(replies()) >= 300
    kinds = Counter((label, language) for _, label, language, _ in replies())
    labels = ("clear", "unclear", "ordinary", "wrong number")
    assert set(kinds) == {(label, language) for label in labels
                          for language in ("en", "es")}  # fmt: skip
    assert min(kinds.values()) >= 30


def test_clear_requests_to_stop_become_hard_opt_outs():
    assert float(figures()["recall"]) >= 0.95, misread("clear", set(Intent) - {Intent.OPT_OUT})


def test_every_unclear_reply_goes_to_review():
    assert not misread("unclear", set(Intent) - {Intent.POSSIBLE_OPT_OUT})


def test_no_ordinary_reply_becomes_an_opt_out():
    assert not misread("ordinary", {Intent.OPT_OUT})


def test_wrong_numbers_are_read_as_such_and_no_ordinary_reply_is():
    assert float(figures()["wrong_read"]) >= 0.95
    assert not misread("wrong number", {Intent.OPT_OUT})
    ordinary = {text for text, label, *_ in replies() if label == "ordinary"}
    assert not ordinary & read_as_wrong()


def test_the_readme_gives_the_figures_of_this_set():
    assert summary() in " ".join(README.read_text(encoding="utf-8").split())
