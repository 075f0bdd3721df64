"""Natural-science templates about units: pick the better estimate, compare quantities in mixed units.

Every estimate item names a real-world object, a plausible number range and the unit that fits; the
wrong choices are the same number in the neighbouring units of the same scale, so the answer follows
from knowing how big the object is. Comparisons convert to one unit first.
"""

from __future__ import annotations

import random

from core.data.samplegen.common import Draft, Template, unit_text

ESTIMATE_HINT = "Select the better estimate."
UNITS_LECTURE_START = (
    "A measurement has two parts: a number and a unit. The unit comes after the number and tells you "
    "what the number counts. A number without a unit does not tell you much: 5 could mean 5 centimeters "
    "or 5 kilometers.\n"
)

# scale name -> [(singular, plural)] from the smallest unit to the largest
SCALES = {
    "length": [("millimeter", "millimeters"), ("centimeter", "centimeters"), ("meter", "meters"),
               ("kilometer", "kilometers")],
    "volume": [("milliliter", "milliliters"), ("liter", "liters")],
    "mass": [("gram", "grams"), ("kilogram", "kilograms")],
    "time": [("second", "seconds"), ("minute", "minutes"), ("hour", "hours")],
}
TOO = {"length": ("too short", "too long"), "volume": ("too little", "too much"),
       "mass": ("too light", "too heavy"), "time": ("too fast", "too slow")}

# (question, "the ... of X" phrase for the solution, low, high, index of the right unit in its scale)
ITEMS = {
    "length": [
        ("How long is a pencil?", "the length of a pencil", 12, 19, 1),
        ("How long is a school bus?", "the length of a school bus", 10, 14, 2),
        ("How long is a hiking trail?", "the length of a hiking trail", 3, 15, 3),
        ("How tall is a kitchen chair?", "the height of a kitchen chair", 80, 100, 1),
        ("How long is a paper clip?", "the length of a paper clip", 3, 5, 1),
        ("How long is a grain of rice?", "the length of a grain of rice", 5, 8, 0),
        ("How tall is an adult giraffe?", "the height of an adult giraffe", 4, 6, 2),
        ("How long is a soccer field?", "the length of a soccer field", 90, 110, 2),
        ("How long is a ladybug?", "the length of a ladybug", 5, 9, 0),
        ("How long is a car?", "the length of a car", 4, 5, 2),
        ("How wide is a paper plate?", "the width of a paper plate", 20, 26, 1),
        ("How tall is a flagpole?", "the height of a flagpole", 8, 15, 2),
        ("How long is a crayon?", "the length of a crayon", 8, 10, 1),
        ("How thick is a coin?", "the thickness of a coin", 1, 2, 0),
        ("How long is a bike path through a large park?", "the length of a bike path through a large park",
         2, 8, 3),
        ("How tall is a coffee mug?", "the height of a coffee mug", 9, 12, 1),
        ("How far can a car drive on a highway in three hours?",
         "how far a car can drive on a highway in three hours", 200, 300, 3),
        ("How long is a swimming pool?", "the length of a swimming pool", 25, 50, 2),
        ("How long is an ant?", "the length of an ant", 2, 6, 0),
        ("How long is a dinner fork?", "the length of a dinner fork", 18, 21, 1),
    ],
    "volume": [
        ("How much water does a bathtub hold?", "the volume of a bathtub", 150, 300, 1),
        ("How much juice is in a juice box?", "the volume of a juice box", 200, 250, 0),
        ("How much medicine is in a teaspoon?", "the volume of a teaspoon of medicine", 5, 5, 0),
        ("How much water is in a full kitchen sink?", "the volume of a full kitchen sink", 20, 40, 1),
        ("How much water is in a small water bottle?", "the volume of a small water bottle", 350, 750, 0),
        ("How much water does a fish tank hold?", "the volume of a fish tank", 40, 200, 1),
        ("How much water does a bucket hold?", "the volume of a bucket", 8, 12, 1),
        ("How much soup is in a can?", "the volume of a can of soup", 300, 400, 0),
        ("How much milk is in a glass?", "the volume of a glass of milk", 200, 300, 0),
        ("How much water does a watering can hold?", "the volume of a watering can", 5, 10, 1),
        ("How much gasoline does a car's gas tank hold?", "the volume of a car's gas tank", 40, 60, 1),
        ("How much soup is in a bowl?", "the volume of a bowl of soup", 250, 400, 0),
        ("How much syrup is in a tablespoon?", "the volume of a tablespoon of syrup", 15, 15, 0),
        ("How much water does a kiddie pool hold?", "the volume of a kiddie pool", 300, 600, 1),
        ("How much tea is in a mug?", "the volume of a mug of tea", 250, 350, 0),
        ("How much water does a washing machine use in one load?",
         "the volume of water a washing machine uses in one load", 50, 90, 1),
    ],
    "mass": [
        ("What is the mass of a bicycle?", "the mass of a bicycle", 12, 18, 1),
        ("What is the mass of a banana?", "the mass of a banana", 100, 150, 0),
        ("What is the mass of a pencil?", "the mass of a pencil", 5, 8, 0),
        ("What is the mass of a watermelon?", "the mass of a watermelon", 4, 8, 1),
        ("What is the mass of a large dog?", "the mass of a large dog", 25, 40, 1),
        ("What is the mass of a slice of bread?", "the mass of a slice of bread", 25, 35, 0),
        ("What is the mass of a bag of potatoes?", "the mass of a bag of potatoes", 2, 5, 1),
        ("What is the mass of a strawberry?", "the mass of a strawberry", 10, 20, 0),
        ("What is the mass of a car tire?", "the mass of a car tire", 8, 12, 1),
        ("What is the mass of an apple?", "the mass of an apple", 150, 200, 0),
        ("What is the mass of a baseball?", "the mass of a baseball", 140, 150, 0),
        ("What is the mass of a bowling ball?", "the mass of a bowling ball", 5, 7, 1),
        ("What is the mass of a sheet of paper?", "the mass of a sheet of paper", 4, 5, 0),
        ("What is the mass of a sack of flour?", "the mass of a sack of flour", 5, 10, 1),
        ("What is the mass of a grape?", "the mass of a grape", 4, 6, 0),
        ("What is the mass of a school desk?", "the mass of a school desk", 15, 25, 1),
    ],
    "time": [
        ("How long does it take to brush your teeth?", "how long it takes to brush your teeth", 2, 3, 1),
        ("How long does it take to sneeze?", "how long it takes to sneeze", 1, 1, 0),
        ("How long does it take to tie your shoes?", "how long it takes to tie your shoes", 10, 20, 0),
        ("How long does it take to fly across the Atlantic Ocean?",
         "how long it takes to fly across the Atlantic Ocean", 7, 9, 2),
        ("How long does it take to bake a loaf of bread?", "how long it takes to bake a loaf of bread",
         30, 45, 1),
        ("How long does it take to eat a sandwich?", "how long it takes to eat a sandwich", 5, 10, 1),
        ("How long does it take to drive across a large state?",
         "how long it takes to drive across a large state", 8, 10, 2),
        ("How long does it take to clap your hands twice?", "how long it takes to clap your hands twice",
         1, 2, 0),
        ("How long does a shower take?", "how long a shower takes", 5, 15, 1),
        ("How long is a night of sleep for a child?", "how long a child sleeps at night", 9, 11, 2),
        ("How long does it take to walk around a city block?",
         "how long it takes to walk around a city block", 5, 10, 1),
        ("How long does it take to say your name?", "how long it takes to say your name", 1, 2, 0),
        ("How long does it take to walk up a flight of stairs?",
         "how long it takes to walk up a flight of stairs", 10, 20, 0),
        ("How long does it take to paint a bedroom?", "how long it takes to paint a bedroom", 3, 6, 2),
        ("How long is a school day?", "the length of a school day", 6, 7, 2),
        ("How long does it take to boil an egg?", "how long it takes to boil an egg", 8, 12, 1),
    ],
}

SCALE_LECTURES = {
    "length": "Length is often measured in millimeters, centimeters, meters, or kilometers. A ladybug is "
              "a few millimeters long, a crayon is several centimeters long, a bus is about 12 meters "
              "long, and a long walk covers a few kilometers.\nThere are 10 millimeters in 1 centimeter, "
              "100 centimeters in 1 meter, and 1,000 meters in 1 kilometer.",
    "volume": "Volume is often measured in milliliters or liters. A spoonful of medicine is about 5 "
              "milliliters. A large bottle of soda holds about 2 liters.\nThere are 1,000 milliliters in "
              "1 liter. So, 1 milliliter is much less than 1 liter.",
    "mass": "Mass is often measured in grams or kilograms. A paper clip has a mass of about 1 gram. A "
            "large book has a mass of about 1 kilogram.\nThere are 1,000 grams in 1 kilogram. So, 1 gram "
            "is much lighter than 1 kilogram.",
    "time": "Time is often measured in seconds, minutes, or hours. A sneeze takes about 1 second, "
            "getting dressed takes a few minutes, and a movie lasts about 2 hours.\nThere are 60 seconds "
            "in 1 minute and 60 minutes in 1 hour.",
}
SKILLS = {"length": "Choose metric units of distance", "volume": "Choose metric units of volume",
          "mass": "Choose metric units of mass", "time": "Choose units of time"}
GRADES = {"length": (2, 5), "volume": (3, 6), "mass": (3, 6), "time": (1, 4)}
COUNTS = {"length": 280, "volume": 200, "mass": 100, "time": 200}  # mass: its items give ~100 distinct questions


def _estimate_maker(scale: str):
    units = SCALES[scale]
    small_word, big_word = TOO[scale]

    def make(rng: random.Random) -> Draft:
        question, phrase, lo, hi, right = rng.choice(ITEMS[scale])
        n = rng.randrange(lo, hi + 1, 10 if lo >= 100 else 1)  # round numbers for big amounts
        others = [i for i in range(len(units)) if i != right]
        # the nearest wrong units are the tempting ones; a third choice adds the next nearest
        others.sort(key=lambda i: (abs(i - right), rng.random()))
        k = 1 if len(units) == 2 else rng.choice([1, 1, 2])
        wrong = sorted(others[:k])
        text = lambda i: unit_text(n, *units[i])  # noqa: E731
        lines = [f"The better estimate for {phrase} is {text(right)}."]
        lines += [f"{text(i)} is {small_word if i < right else big_word}." for i in wrong]
        return Draft(question, text(right), [text(i) for i in wrong], "\n".join(lines), ESTIMATE_HINT)

    return make


# (question, phrase, Celsius range, Fahrenheit range)
TEMPERATURES = [
    ("What is the temperature of a cup of hot tea?", "a cup of hot tea", (60, 80), (140, 175)),
    ("What is the temperature of a glass of ice water?", "a glass of ice water", (2, 5), (35, 40)),
    ("What is the temperature of a warm bath?", "a warm bath", (37, 40), (98, 104)),
    ("What is the temperature of a child with a fever?", "a child with a fever", (38, 40), (100, 104)),
    ("What is the temperature of a classroom?", "a classroom", (20, 23), (68, 74)),
    ("What is the temperature of an oven baking cookies?", "an oven baking cookies", (175, 200), (350, 400)),
    ("What is the temperature of the air on a hot summer day?", "the air on a hot summer day", (30, 38),
     (86, 100)),
    ("What is the temperature inside a refrigerator?", "the inside of a refrigerator", (3, 5), (37, 41)),
    ("What is the temperature of a bowl of hot soup?", "a bowl of hot soup", (60, 80), (140, 175)),
    ("What is the temperature of a glass of cold lemonade?", "a glass of cold lemonade", (5, 10), (40, 50)),
    ("What is the temperature of the water in a swimming pool?", "the water in a swimming pool", (25, 28),
     (77, 82)),
    ("What is the temperature of a mug of hot cocoa?", "a mug of hot cocoa", (55, 70), (130, 160)),
    ("What is the temperature of a healthy person's body?", "a healthy person's body", (37, 37), (98, 99)),
    ("What is the temperature of a cool spring morning?", "a cool spring morning", (8, 14), (46, 57)),
]
TEMPERATURE_LECTURE = (
    UNITS_LECTURE_START + "Temperature can be measured in degrees Fahrenheit (°F) or degrees Celsius (°C). "
    "These reference points help you compare the two units:\n"
    "Water boils: 212°F, 100°C\nBody temperature: about 98.6°F, 37°C\nRoom temperature: about 68°F, 20°C\n"
    "Water freezes: 32°F, 0°C"
)


def make_temperature(rng: random.Random) -> Draft:
    question, phrase, c_range, f_range = rng.choice(TEMPERATURES)
    if rng.random() < 0.5:
        n = rng.randint(*c_range)
        right, wrong, why = f"{n}°C", f"{n}°F", "too cold"
    else:
        n = rng.randint(*f_range)
        right, wrong, why = f"{n}°F", f"{n}°C", "too hot"
    solution = f"The better estimate for the temperature of {phrase} is {right}.\n{wrong} is {why}."
    return Draft(question, right, [wrong], solution, ESTIMATE_HINT)


# (big unit, plural, small unit, plural, small units per big unit, question, what the answer is)
COMPARISONS = [
    ("kilogram", "kilograms", "gram", "grams", 1000, "Which mass is greater?", "the greater mass"),
    ("kilometer", "kilometers", "meter", "meters", 1000, "Which distance is longer?", "the longer distance"),
    ("meter", "meters", "centimeter", "centimeters", 100, "Which length is longer?", "the longer length"),
    ("liter", "liters", "milliliter", "milliliters", 1000, "Which volume is greater?", "the greater volume"),
    ("minute", "minutes", "second", "seconds", 60, "Which amount of time is longer?",
     "the longer amount of time"),
    ("hour", "hours", "minute", "minutes", 60, "Which amount of time is longer?", "the longer amount of time"),
]
COMPARE_LECTURE = (
    "To compare two measurements, they must be written in the same unit. Change the larger unit into "
    "the smaller unit by multiplying, then compare the numbers.\n"
    "1 kilogram = 1,000 grams, 1 kilometer = 1,000 meters, 1 meter = 100 centimeters, "
    "1 liter = 1,000 milliliters, 1 hour = 60 minutes, and 1 minute = 60 seconds.\n"
    "For example, to compare 2 kilograms and 1,500 grams, write 2 kilograms as 2,000 grams. "
    "2,000 grams is more than 1,500 grams, so 2 kilograms is the greater mass."
)


def make_comparison(rng: random.Random) -> Draft:
    big1, bigs, small1, smalls, factor, question, conclusion = rng.choice(COMPARISONS)
    n_choices = rng.choice([2, 2, 3])
    step = factor // 10 if factor >= 100 else 5
    base = rng.randint(1, 6) * factor  # always shown in the big unit, so converting is needed
    offsets = rng.sample([k for k in range(-8, 9) if k and base + k * step > 0], n_choices - 1)
    amounts = [base] + [base + k * step for k in offsets]  # every amount in the small unit
    small = lambda a: unit_text(a, small1, smalls)  # noqa: E731
    shown = {a: small(a) for a in amounts}
    shown[base] = unit_text(base // factor, big1, bigs)
    best = max(amounts)
    others = sorted((a for a in amounts if a != best), reverse=True)
    solution = (f"To compare, write every choice in {smalls}.\n{shown[base]} = {small(base)}.\n"
                f"{small(best)} is more than {' and '.join(small(a) for a in others)}.\n"
                f"So, {shown[best]} is {conclusion}.")
    return Draft(question, shown[best], [shown[a] for a in others], solution)


def _unit_rank(scale: str):
    """'12 centimeters' -> the unit's place in its scale, smallest first (choices are shown in that order)."""
    place = {name: i for i, pair in enumerate(SCALES[scale]) for name in pair}
    return lambda choice: place[choice.split(" ", 1)[1]]


TEMPLATES = [
    *[Template(f"units_{scale}", "natural science", "units-and-measurement", "Units and measurement",
               SKILLS[scale], GRADES[scale], UNITS_LECTURE_START + SCALE_LECTURES[scale], COUNTS[scale],
               _estimate_maker(scale), rank=_unit_rank(scale)) for scale in SCALES],
    Template("units_temperature", "natural science", "units-and-measurement", "Units and measurement",
             "Estimate temperatures", (3, 7), TEMPERATURE_LECTURE, 240, make_temperature,
             rank=lambda choice: ("°F", "°C").index(choice[-2:])),
    Template("compare_measurements", "natural science", "units-and-measurement", "Units and measurement",
             "Compare and convert metric units and units of time", (5, 9), COMPARE_LECTURE, 120,
             make_comparison),
]
