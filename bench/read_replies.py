"""How long reading a reply takes (messaging.keywords.read): the labelled corpus, and the
longest replies an SMS can be (1,600 characters), ordinary and made of many requests.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 .venv/bin/python bench/read_replies.py
"""

import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

LONGEST = 1_600  # characters: Twilio's most for one message
LONG_REPLIES = {
    "ordinary": "Thanks so much for the reminder, see you Tuesday at 3! ",
    "requests, each held back": "Stop calling me after 9pm and unsubscribe me. ",
    "requests, 160 of them": "basta sms ",
}


def median_ms(work, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    import django

    django.setup()
    from messaging.keywords import read

    with open(ROOT / "tests/messaging/replies.csv", encoding="utf-8") as file:
        corpus = [row["text"] for row in csv.DictReader(file)]
    for reply in corpus:  # warm up: the patterns compiled, the caches filled
        read(reply)
    ms = median_ms(lambda: [read(reply) for reply in corpus])
    each = ms * 1000 / len(corpus)
    print(f"labelled corpus, {len(corpus):,} replies: {ms:.0f} ms ({each:.0f} µs a reply)")
    for what, words in LONG_REPLIES.items():
        reply = (words * (LONGEST // len(words) + 1))[:LONGEST]
        print(f"{LONGEST:,} characters, {what}: {median_ms(lambda r=reply: read(r)):.1f} ms")


if __name__ == "__main__":
    main()
