"""The tone checker's rules, plain Python with no Baton imports, so they can be read and
tried on their own. `check(drafts, settings)` returns the plugin's output."""

import re
from dataclasses import dataclass

# Words and phrases that spam filters and wary readers both react to. Matched as whole
# words, case-insensitive.
SPAM_TRIGGERS = [
    "act now", "apply now", "as seen on", "best price", "buy now", "cash", "click here",
    "congratulations", "deal of a lifetime", "don't delete", "double your", "earn money",
    "exclusive deal", "free", "guarantee", "guaranteed", "incredible deal", "limited time",
    "lowest price", "no catch", "no obligation", "no strings attached", "once in a lifetime",
    "order now", "risk-free", "special promotion", "this isn't spam", "urgent", "winner",
    "100%", "$$$",
]

# Phrasing that pressures the reader instead of helping them decide.
PUSHY_PHRASES = [
    "as per my last email", "before it's too late", "don't miss out", "final notice",
    "i haven't heard back", "last chance", "reply asap", "respond immediately",
    "why haven't you", "you must", "you need to", "you should have", "i'll keep following up",
    "just bumping this", "per my previous",
]


@dataclass
class Settings:
    max_words: int = 150
    min_words: int = 25
    max_grade: float = 10.0
    max_subject_chars: int = 60


def phrase_pattern(phrase):
    # \b does not work next to symbols such as "$$$" or "100%": only require a
    # boundary on the sides that are word characters.
    left = r"\b" if phrase[0].isalnum() else ""
    right = r"\b" if phrase[-1].isalnum() else ""
    return re.compile(left + re.escape(phrase) + right, re.IGNORECASE)


SPAM_PATTERNS = [(p, phrase_pattern(p)) for p in SPAM_TRIGGERS]
PUSHY_PATTERNS = [(p, phrase_pattern(p)) for p in PUSHY_PHRASES]
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def syllables(word):
    """An estimate of the syllables in an English word, good enough for a reading grade."""
    word = word.lower().strip("'’-")
    if len(word) <= 3:
        return 1
    if word.endswith("e") and not word.endswith(("le", "ee")):
        word = word[:-1]
    return max(1, len(VOWEL_GROUPS.findall(word)))


def reading_grade(text):
    """Flesch-Kincaid grade level: the school year a reader needs to follow the text."""
    words = WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(SENTENCE_END.findall(text)))
    syllable_count = sum(syllables(w) for w in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllable_count / len(words) - 15.59
    return round(max(0.0, grade), 1)


def body_without_signature(body):
    # The greeting and sign-off are not what the reader judges; drop a trailing
    # "Best,\nName" block so it neither pads nor shortens the count.
    return re.split(r"\n\s*\n(?:best|thanks|regards|cheers|kind regards),?\s*\n", body, flags=re.IGNORECASE)[0]


def check_draft(draft, settings):
    subject = draft.get("subject", "")
    body = draft.get("body", "")
    text = subject + "\n" + body
    flags = []

    for phrase, pattern in SPAM_PATTERNS:
        if pattern.search(text):
            flags.append({"kind": "spam-trigger", "detail": f'"{phrase}" reads as spam to filters and people'})
    for phrase, pattern in PUSHY_PATTERNS:
        if pattern.search(text):
            flags.append({"kind": "pushy", "detail": f'"{phrase}" pressures the reader; offer a next step instead'})

    shouting = [w for w in WORD.findall(text) if len(w) >= 4 and w.isupper()]
    if shouting:
        flags.append({"kind": "spam-trigger", "detail": f"words in capitals: {', '.join(shouting[:3])}"})
    exclamations = text.count("!")
    if exclamations > 1:
        flags.append({"kind": "pushy", "detail": f"{exclamations} exclamation marks; one at most"})

    words = len(WORD.findall(body_without_signature(body)))
    if words > settings.max_words:
        flags.append({"kind": "length", "detail": f"{words} words; a follow-up reads best under {settings.max_words}"})
    elif words < settings.min_words:
        flags.append({"kind": "length", "detail": f"{words} words; too short to say why you are writing"})
    if len(subject) > settings.max_subject_chars:
        flags.append({"kind": "length", "detail": f"subject is {len(subject)} characters; inboxes cut it after {settings.max_subject_chars}"})

    grade = reading_grade(body_without_signature(body))
    if grade > settings.max_grade:
        flags.append({"kind": "reading-level", "detail": f"reading grade {grade}; aim for {settings.max_grade:g} or below"})

    return {
        "subject": subject,
        "pass": not flags,
        "flags": flags,
        "words": words,
        "reading_grade": grade,
    }


def check(drafts, settings):
    results = [check_draft(d, settings) for d in drafts]
    passed = sum(1 for r in results if r["pass"])
    # One line per flag, numbered by draft, for the operator's view of a decision.
    flags = [f"draft {i + 1}: {f['detail']}" for i, r in enumerate(results) for f in r["flags"]]
    return {
        "pass": passed == len(results),
        "drafts": results,
        "flags": flags,
        "summary": f"{passed} of {len(results)} drafts pass",
    }
