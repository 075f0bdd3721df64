"""Language-science templates about words: dictionary guide words, alphabetical order, and rhyming.

Alphabetical order is Python's string order on lowercase letters, which is dictionary order
(a shorter word that is the start of a longer one comes first: "be" before "bed").
"""

from __future__ import annotations

import random

from core.data.samplegen.common import Draft, Template

WORDS = sorted(set("""
able acorn actor adult after agree alarm alley amber angle ankle apple apron arrow ash attic aunt author
baby badge bake balloon banjo barn basket beach beard bed beetle bell bench berry blank blind blossom board
boat bone bottle branch brave bread brick bridge bright brush bucket bundle butter button cabin cactus camel
candle canoe carpet carrot castle cattle cave cedar cellar chalk cherry chimney circle claw clever cloud coach
coast collar comet copper corner cotton cousin crab cradle crater crayon creek crowd curtain daisy dance
dawn deer denim desert desk diamond dinner dragon drum duck dust eagle early earth echo elbow engine
envy equal eraser evening fable fabric falcon feather fence fern fiddle field flag flame flute forest fossil
fountain fox frost garden gate giant ginger glacier glove goat gravel guitar gull hammer harbor harvest hatch
hazel helmet hill honey hoop hornet hotel hunger igloo island ivory jacket jelly jewel jungle kettle kitten
knee ladder lake lantern lemon lily lizard lobster magnet mango maple marble meadow melon mirror mitten
monkey moss mountain muffin napkin needle nest noodle nut oak ocean olive onion orbit otter owl paddle parrot
peach pebble pencil pepper piano pillow planet plum pocket pony puddle pumpkin puzzle quarter quilt rabbit
radish rainbow raven ribbon river robin rocket saddle salmon sandal scarf shadow shell shovel silver sister
skate sled snail socket spider spoon squash stable station storm sugar summer swamp table tiger timber toast
tomato tower trumpet tulip tunnel turtle umbrella valley velvet violin wagon walnut whale whistle willow
window winter wizard yarn yellow zebra
""".split()))
GUIDE_LECTURE = (
    "Guide words are printed at the top of each page of a dictionary. They show the first word and the "
    "last word on that page. Every other word on the page comes between the guide words in alphabetical "
    "order.\nTo put words in alphabetical order, compare their first letters. If the first letters are the "
    "same, compare the second letters, then the third letters, and so on. If one word runs out of letters "
    "first, the shorter word comes first. For example, be comes before bed."
)


def _guide_page(rng: random.Random) -> tuple[int, int]:
    """Indices i < j of two guide words with at least one word between them."""
    i = rng.randrange(1, len(WORDS) - 12)
    return i, i + rng.randint(3, 10)


def make_guide_words(rng: random.Random) -> Draft:
    i, j = _guide_page(rng)
    first, last = WORDS[i], WORDS[j]
    inside = WORDS[rng.randrange(i + 1, j)]
    # the outside word is a near neighbour of the page, so it usually shares the first letter
    outside = WORDS[rng.choice([max(0, i - rng.randint(1, 4)), min(len(WORDS) - 1, j + rng.randint(1, 4))])]
    guide = f"{first} - {last}"
    if rng.random() < 0.6:
        return Draft(f"Which word would you find on a dictionary page with the following guide words?\n{guide}",
                     inside, [outside],
                     f"Put the words in alphabetical order.\nSince {inside} is between the guide words {guide}, it "
                     f"would be found on that page. {outside.capitalize()} is not between them, so it would be on "
                     f"a different page.")
    word = inside if rng.random() < 0.5 else outside
    found = word == inside
    order = ", ".join(sorted([first, last, word]))
    why = (f"Since {word} is between the guide words {guide}, it would be found on that page." if found else
           f"Since {word} is not between the guide words {guide}, it would not be found on that page.")
    return Draft(f"Would you find the word {word} on a dictionary page with the following guide words?\n{guide}",
                 "yes" if found else "no", ["no" if found else "yes"],
                 f"Put the words in alphabetical order: {order}.\n{why}")


ORDER_LECTURE = (
    "When words are in alphabetical order, they are sorted the way the letters of the alphabet are: "
    "a, b, c, and so on to z.\nTo find which word comes first, look at the first letter of each word. If two "
    "words begin with the same letter, look at the second letter, and so on."
)


def make_alpha_order(rng: random.Random) -> Draft:
    n = rng.choice([2, 3, 4, 5])
    same_start = rng.random() < 0.4
    if same_start:
        letter = rng.choice(sorted({w[0] for w in WORDS if sum(v[0] == w[0] for v in WORDS) >= n}))
        words = rng.sample([w for w in WORDS if w[0] == letter], n)
        grades = (2, 4)
    else:
        by_letter: dict[str, list[str]] = {}
        for w in WORDS:
            by_letter.setdefault(w[0], []).append(w)
        words = [rng.choice(by_letter[c]) for c in rng.sample(sorted(by_letter), n)]
        grades = (1, 2)
    ordered = sorted(words)
    look = (f"All the words begin with {words[0][0]}, so compare the second letters, then the next letters if those "
            f"are the same." if same_start else "Look at the first letter of each word.")
    solution = f"{look} In alphabetical order, the words are: {', '.join(ordered)}.\nSo, {ordered[0]} comes first."
    return Draft("Which word comes first in alphabetical order?", ordered[0],
                 [w for w in words if w != ordered[0]], solution, grades=grades)


RHYMES = {
    "at": ["cat", "hat", "bat", "mat", "rat", "sat"], "ig": ["pig", "big", "dig", "wig", "fig"],
    "op": ["hop", "mop", "top", "stop", "shop"], "ake": ["cake", "lake", "make", "bake", "rake", "snake"],
    "ine": ["line", "mine", "pine", "fine", "nine"], "ell": ["bell", "well", "shell", "tell", "yell"],
    "ug": ["bug", "hug", "mug", "rug", "jug"], "ain": ["rain", "train", "chain", "brain", "grain"],
    "ock": ["sock", "rock", "clock", "lock", "block"], "un": ["sun", "fun", "run", "bun"],
    "ed": ["bed", "red", "fed", "sled"], "ip": ["ship", "lip", "dip", "zip", "trip"],
    "og": ["dog", "log", "fog", "frog", "jog"], "ame": ["game", "name", "same", "flame"],
    "and": ["hand", "band", "sand", "land", "stand"], "ink": ["pink", "sink", "wink", "drink", "think"],
    "est": ["nest", "vest", "best", "test", "west"], "an": ["can", "fan", "man", "pan", "van"],
}
RHYME_LECTURE = (
    "Rhyming words are words that end with the same sound.\nThe words cat and hat rhyme. They both end with "
    "the at sound.\nThe words cat and cap do not rhyme. They start the same way, but they end with different "
    "sounds."
)


def make_rhyme(rng: random.Random) -> Draft:
    family, other = rng.sample(sorted(RHYMES), 2)
    if rng.random() < 0.5:
        a, b = rng.sample(RHYMES[family], 2)
        odd = rng.choice(RHYMES[other])
        solution = (f"The words {a} and {b} rhyme. They both end with the {family} sound.\n"
                    f"The word {odd} does not rhyme. It ends with a different sound.")
        return Draft("Which word does not rhyme?", odd, [a, b], solution)
    word, match = rng.sample(RHYMES[family], 2)
    others = [rng.choice(RHYMES[f]) for f in rng.sample([f for f in sorted(RHYMES) if f != family],
                                                        rng.choice([1, 2]))]
    solution = (f"The words {word} and {match} rhyme. They both end with the {family} sound.\n"
                + "\n".join(f"The word {o} does not rhyme with {word}. It ends with a different sound."
                            for o in others))
    return Draft(f"Which word rhymes with {word}?", match, others, solution)


TEMPLATES = [
    Template("guide_words", "language science", "reference-skills", "Reference skills", "Use guide words", (2, 8),
             GUIDE_LECTURE, 160, make_guide_words, labels=("yes", "no")),
    Template("alphabetical_order", "language science", "reference-skills", "Reference skills",
             "Put words in alphabetical order", (1, 4), ORDER_LECTURE, 100, make_alpha_order),
    Template("rhyming", "language science", "phonological-awareness", "Rhyming", "Identify rhyming words", (1, 2),
             RHYME_LECTURE, 120, make_rhyme),
]
