"""Language-science templates about sentences: verb tense, fragments, simple and compound sentences, and the
greetings and closings of letters.

Sentences are built from a bank of hand-written clauses (subject, verb, rest) so every sentence makes
sense; compound sentences join two clauses that were written to go together.
"""

from __future__ import annotations

import random

from core.data.samplegen.common import NAMES, Draft, Template, cap

SUBJECTS = ["the farmer", "my cousin", "the coach", "Grandpa", "the baker", "our teacher", "my sister", "Dad",
            "the pilot", "Aunt Rosa"]
# (base, present, past, rest)
VERBS = [
    ("bake", "bakes", "baked", "a loaf of bread"), ("paint", "paints", "painted", "a picture of a horse"),
    ("wash", "washes", "washed", "the dishes after dinner"), ("carry", "carries", "carried", "the heavy box upstairs"),
    ("throw", "throws", "threw", "the ball across the yard"), ("write", "writes", "wrote", "a letter to a friend"),
    ("swim", "swims", "swam", "across the lake"), ("catch", "catches", "caught", "the early bus"),
    ("plant", "plants", "planted", "tomatoes in the garden"), ("draw", "draws", "drew", "a map of the park"),
    ("sing", "sings", "sang", "a song about the ocean"), ("fix", "fixes", "fixed", "the broken fence"),
    ("climb", "climbs", "climbed", "the tall oak tree"), ("ride", "rides", "rode", "a bike to the store"),
    ("feed", "feeds", "fed", "the ducks at the pond"), ("build", "builds", "built", "a fort out of blankets"),
    ("sweep", "sweeps", "swept", "the kitchen floor"), ("pack", "packs", "packed", "a lunch for the trip"),
    ("pick", "picks", "picked", "apples from the tree"), ("visit", "visits", "visited", "the science museum"),
    ("open", "opens", "opened", "the window"), ("jump", "jumps", "jumped", "over the puddle"),
    ("bring", "brings", "brought", "snacks to the party"), ("eat", "eats", "ate", "a bowl of soup"),
    ("drink", "drinks", "drank", "a glass of milk"), ("find", "finds", "found", "a shiny shell on the beach"),
    ("mix", "mixes", "mixed", "the paint colors"), ("watch", "watches", "watched", "the stars from the porch"),
    ("kick", "kicks", "kicked", "the ball into the net"), ("fold", "folds", "folded", "the clean towels"),
]
TENSE_LECTURE = (
    "A verb's tense tells you when something happens.\nPresent tense verbs tell about something that is "
    "happening now. Most of them have no ending, or they end in -s or -es.\nPast tense verbs tell about "
    "something that has already happened. Most end in -ed, but some, like ran and ate, have special forms "
    "you must remember.\nFuture tense verbs tell about something that is going to happen. They use the word "
    "will before the main verb, as in will run."
)


def make_tense(rng: random.Random) -> Draft:
    subject = cap(rng.choice(SUBJECTS + NAMES[:20]))
    base, present, past, rest = rng.choice(VERBS)
    tense = rng.choice(["past", "present", "future"])
    if tense == "future":
        sentence = f"{subject} will {base} {rest}."
        why = (f"The sentence is in future tense. You can tell because it uses will before the main verb, {base}. "
               f"The verb tells you about something that is going to happen.")
    elif tense == "past":
        sentence = f"{subject} {past} {rest}."
        form = "It ends in -ed." if past.endswith("ed") else f"{cap(past)} is the past tense of {base}."
        why = (f"The sentence is in past tense. You can tell because the verb, {past}, tells you about something "
               f"that has already happened. {form}")
    else:
        sentence = f"{subject} {present} {rest}."
        ending = "-es" if present.endswith("es") and not base.endswith("e") else "-s"
        why = (f"The sentence is in present tense. You can tell because the verb, {present}, tells you about "
               f"something that is happening now. It ends in {ending}.")
    return Draft(f"Which tense does the sentence use?\n{sentence}", f"{tense} tense",
                 [f"{t} tense" for t in ("past", "present", "future") if t != tense], why)


# (subject, verb, rest): each clause is a complete sentence on its own
CLAUSES = [
    ("the tired hikers", "rested", "under a shady tree"), ("a small gray kitten", "chased", "a ball of yarn"),
    ("the science club", "built", "a model volcano"), ("my grandmother", "planted", "roses along the fence"),
    ("a flock of geese", "flew", "over the frozen lake"), ("the students", "cleaned", "the park on Saturday"),
    ("the old wooden bridge", "creaked", "under the heavy truck"), ("our neighbor", "painted", "her mailbox blue"),
    ("the band", "practiced", "in the school gym"), ("a strong wind", "knocked", "the flowerpot off the porch"),
    ("the baby", "giggled", "at the silly puppet"), ("two otters", "floated", "on their backs in the river"),
    ("the firefighters", "rescued", "a cat from the roof"), ("the chef", "sliced", "the fresh bread"),
    ("the museum guide", "explained", "how the fossils formed"), ("a bright rainbow", "appeared", "after the storm"),
    ("the soccer team", "won", "the championship game"), ("the librarian", "read", "a story to the class"),
    ("my brother", "fixed", "the chain on his bike"), ("the astronauts", "trained", "for many months"),
]
# two clauses that belong together, and the conjunction that joins them
COMPOUNDS = [
    (("the sky", "grew", "dark"), "so", ("we", "went", "inside")),
    (("Maya", "wanted", "to swim"), "but", ("the pool", "was", "closed")),
    (("the dog", "barked", "at the mail carrier"), "and", ("the cat", "hid", "under the bed")),
    (("Leo", "studied", "for the spelling test"), "so", ("he", "felt", "ready")),
    (("the bus", "was", "late"), "but", ("we", "got", "to school on time")),
    (("Grandpa", "made", "pancakes"), "and", ("Grandma", "squeezed", "fresh orange juice")),
    (("the river", "flooded", "the road"), "so", ("the town", "closed", "the bridge")),
    (("you", "can", "walk to the park"), "or", ("you", "can", "ride your bike")),
    (("the seeds", "sprouted", "quickly"), "but", ("the rabbits", "ate", "the young plants")),
    (("Priya", "plays", "the violin"), "and", ("her brother", "plays", "the cello")),
    (("the snow", "kept", "falling"), "so", ("school", "was", "canceled")),
    (("the kitten", "looked", "hungry"), "so", ("Omar", "gave", "it some food")),
    (("we", "could", "eat lunch now"), "or", ("we", "could", "wait for Dad")),
    (("the team", "played", "hard"), "but", ("they", "lost", "the game")),
    (("the wind", "howled", "all night"), "and", ("the windows", "rattled", "in their frames")),
    (("Elena", "forgot", "her umbrella"), "so", ("she", "got", "wet in the rain")),
    (("the lemonade", "was", "sour"), "but", ("everyone", "drank", "it anyway")),
    (("the lights", "flickered", "twice"), "and", ("then", "the power", "went out")),
]


def _clause(c: tuple[str, ...]) -> str:
    return " ".join(c)


def _compound_text(pair: tuple) -> tuple[str, str]:
    first, conj, second = pair
    return cap(f"{_clause(first)}, {conj} {_clause(second)}."), conj


FRAGMENT_LECTURE = (
    "A sentence is a group of words that expresses a complete thought. It has a subject, which tells who "
    "or what the sentence is about, and a verb, which tells what the subject does or is.\n"
    "A sentence fragment is a group of words that does not express a complete thought. A fragment may be "
    "missing a subject or a verb, or it may be a dependent part that begins with a word like because, when, "
    "or after."
)


DEPENDENT = {"because": "because of that", "when": "at that time", "after": "next"}


def _fragment(rng: random.Random, subj: str, verb: str, rest: str) -> tuple[str, str]:
    kind = rng.choice(["no subject", "no verb", "dependent"])
    if kind == "no subject":
        return cap(f"{verb} {rest}."), "It is missing a subject. It does not tell who or what " + f"{verb} {rest}."
    if kind == "no verb":
        return cap(f"{subj} {rest}."), f"It is missing a verb. It does not tell what {subj} did."
    word = rng.choice(list(DEPENDENT))
    return (cap(f"{word} {subj} {verb} {rest}."),
            f"It begins with {word}, so it is only part of a thought. It does not tell what happened "
            f"{DEPENDENT[word]}.")


def make_fragment(rng: random.Random) -> Draft:
    subj, verb, rest = rng.choice(CLAUSES)
    full = cap(f"{subj} {verb} {rest}.")
    if rng.random() < 0.6:
        is_fragment = rng.random() < 0.5
        if is_fragment:
            text, missing = _fragment(rng, subj, verb, rest)
            solution = (f"This is a sentence fragment. It does not express a complete thought.\n{text}\n{missing}\n"
                        f"Here is one way to fix the sentence fragment:\n{full}")
        else:
            text = full
            solution = (f"This is not a sentence fragment. It is a complete sentence because it expresses a complete "
                        f"thought. It has a subject, {subj}, and a verb, {verb}.")
        return Draft(f"Is this a sentence fragment?\n{text}", "yes" if is_fragment else "no",
                     ["no" if is_fragment else "yes"], solution)
    osubj, overb, orest = rng.choice([c for c in CLAUSES if c[0] != subj])
    fragment, missing = _fragment(rng, osubj, overb, orest)
    solution = (f"This is a complete sentence:\n{full}\nIt has a subject, {subj}, and a verb, {verb}, and it "
                f"expresses a complete thought.\nThis is a sentence fragment:\n{fragment}\n{missing}")
    return Draft("Which is a complete sentence?", full, [fragment], solution)


COMPOUND_LECTURE = (
    "A simple sentence is a sentence with only one subject and predicate.\nThe pitcher threw the ball.\n"
    "A compound sentence is two simple sentences joined by a comma and a conjunction such as and, but, or, "
    "or so.\nThe pitcher threw the ball, and the batter hit it.\nA simple sentence can have more than one "
    "verb, as in The batter hit the ball and ran to first base. It is still simple, because it has only one "
    "subject and predicate."
)


# simple sentences with a compound predicate: one subject doing two things, the tempting wrong answer
TWO_VERB_SIMPLES = [
    ("the batter", "hit the ball and ran to first base"), ("the puppy", "wagged its tail and licked my hand"),
    ("my mom", "opened the oven and took out the bread"), ("the girls", "packed their bags and waited by the door"),
    ("the squirrel", "grabbed an acorn and raced up the tree"), ("Noah", "washed the apples and put them in a bowl"),
    ("the crowd", "stood up and cheered for the runners"), ("the waves", "crashed on the rocks and sprayed the pier"),
    ("our class", "visited the farm and fed the goats"), ("the artist", "mixed her paints and started a new picture"),
]


def _simple(rng: random.Random) -> tuple[str, str]:
    """A simple sentence, sometimes with a compound predicate (the harder case), and why it is simple."""
    if rng.random() < 0.3:
        subj, predicate = rng.choice(TWO_VERB_SIMPLES)
        text = cap(f"{subj} {predicate}.")
        return text, (f"This is a simple sentence:\n{text}\nIt has one subject, {subj}, that does two things "
                      f"joined by and. It is not two sentences joined together.")
    subj, verb, rest = rng.choice(CLAUSES)
    text = cap(f"{subj} {verb} {rest}.")
    return text, f"This is a simple sentence:\n{text}\nIt has one subject, {subj}, and one predicate."


def make_compound(rng: random.Random) -> Draft:
    pair = rng.choice(COMPOUNDS)
    compound, conj = _compound_text(pair)
    first, _, second = pair
    c_why = (f"This is a compound sentence:\n{compound}\nIt is made up of two simple sentences joined by a comma "
             f"and the conjunction {conj}: {cap(_clause(first))}. {cap(_clause(second))}.")
    simple, s_why = _simple(rng)
    if rng.random() < 0.5:
        return Draft("Which is a compound sentence?", compound, [simple], f"{c_why}\n{s_why}", grades=(4, 8))
    if rng.random() < 0.5:
        return Draft(f"Is this a simple or compound sentence?\n{compound}", "compound", ["simple"], c_why)
    return Draft(f"Is this a simple or compound sentence?\n{simple}", "simple", ["compound"], s_why)


TITLES = ["Aunt", "Uncle", "Grandma", "Grandpa", "Cousin", "Coach"]
CLOSINGS = ["Love,", "Your friend,", "Sincerely,", "With love,", "Best wishes,", "Your pal,", "Thank you,",
            "Yours truly,", "See you soon,", "Warm regards,", "Your student,", "All the best,"]
LETTER_LECTURE = (
    "A letter begins with a greeting and ends with a closing. In both, capitalize the first word and put a "
    "comma at the end.\nAlso capitalize proper nouns, such as names and titles used as names: Dear Uncle Ben,\n"
    "In a closing with more than one word, capitalize only the first word: Your friend,"
)


def make_letter(rng: random.Random) -> Draft:
    name = rng.choice(NAMES)
    if rng.random() < 0.5:
        title = rng.choice(TITLES)
        right = f"Dear {title} {name},"
        wrong = rng.choice([f"dear {title} {name},", f"Dear {title.lower()} {name},", f"Dear {title} {name}"])
        if wrong.startswith("dear"):
            why = "the first word, Dear, is not capitalized."
        elif wrong.endswith(","):
            why = f"{title.lower()} is not capitalized, but {title} {name} is a proper noun."
        else:
            why = "the comma at the end is missing."
        return Draft("Which greeting is correct for a letter?", right, [wrong],
                     f"The correct greeting is:\n{right}\nIts first word is capitalized, the name {title} {name} is "
                     f"capitalized, and it ends with a comma.\nIn the other greeting, {why}")
    closing = rng.choice(CLOSINGS)
    words = closing.split()
    options = [closing.lower(), closing.rstrip(",")]
    if len(words) > 1:
        options.append(" ".join([words[0]] + [cap(w) for w in words[1:]]))
    wrong = rng.choice(options)
    if wrong == closing.lower():
        why = f"the first word, {words[0].rstrip(',')}, is not capitalized."
    elif not wrong.endswith(","):
        why = "the comma at the end is missing."
    else:
        why = "a word after the first word is capitalized, but only the first word should be."
    return Draft("Which closing is correct for a letter?", f"{closing}\n{name}", [f"{wrong}\n{name}"],
                 f"The correct closing is:\n{closing}\n{name}\nIts first word is capitalized, and it ends with a "
                 f"comma.\nIn the other closing, {why}")


TEMPLATES = [
    Template("verb_tense", "language science", "verbs", "Verb tense",
             "Is the sentence in the past, present, or future tense?", (2, 4), TENSE_LECTURE, 280, make_tense,
             labels=("past tense", "present tense", "future tense")),
    Template("sentence_fragments", "language science", "writing-strategies", "Sentences, fragments, and run-ons",
             "Identify sentence fragments", (3, 12), FRAGMENT_LECTURE, 140, make_fragment, labels=("yes", "no")),
    Template("simple_compound", "language science", "grammar", "Sentences, fragments, and run-ons",
             "Is the sentence simple or compound?", (4, 12), COMPOUND_LECTURE, 120, make_compound,
             labels=("simple", "compound")),
    Template("letter_greetings_closings", "language science", "punctuation", "Formatting",
             "Greetings and closings of letters", (2, 4), LETTER_LECTURE, 100, make_letter),
]
