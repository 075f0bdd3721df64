"""Natural-science templates from physics and chemistry: thermal energy, speed, magnets, states of
matter, and physical versus chemical change.

The answers follow fixed rules stated in each lecture (hotter -> more thermal energy; opposite poles
attract; closer magnets pull harder), so a model can learn them from the question text alone.
"""

from __future__ import annotations

import random

from core.data.samplegen.common import NAMES, Draft, Template, cap, number

# (object with its mass, Celsius range)
THERMAL_OBJECTS = [
    ("200-gram cup of cocoa", (40, 80)), ("5-kilogram bowling ball", (10, 35)), ("150-gram apple", (5, 30)),
    ("300-gram mug of cider", (30, 75)), ("1-kilogram block of iron", (15, 90)), ("250-gram glass of water",
    (5, 40)), ("400-gram bowl of soup", (35, 85)), ("50-gram ice pop", (-15, -2)),
    ("2-kilogram brick", (10, 45)), ("100-gram spoon", (15, 60)), ("500-gram pot of oatmeal", (40, 90)),
    ("3-kilogram rock", (5, 40)),
]
THERMAL_LECTURE = (
    "The particles in matter are always moving. The energy of that motion is called thermal energy.\n"
    "Temperature tells you how hot or cold matter is. When two objects are made of the same type of "
    "matter and have the same mass, the hotter object has more thermal energy, because its particles "
    "move faster. The colder object has less thermal energy."
)


def make_thermal(rng: random.Random) -> Draft:
    thing, (lo, hi) = rng.choice(THERMAL_OBJECTS)
    temps = rng.sample(range(lo, hi + 1), rng.choice([2, 2, 3]))
    more = rng.random() < 0.6
    target = max(temps) if more else min(temps)
    text = lambda t: f"a {thing} at a temperature of {t}°C"  # noqa: E731
    word = "more" if more else "less"
    others = [t for t in temps if t != target]
    comparison = "higher" if more else "lower"
    solution = (f"All the objects are the same except for their temperatures. The {thing} at {target}°C has "
                f"a {comparison} temperature than the {' and the '.join(f'{thing} at {t}°C' for t in others)}.\n"
                f"So, the {thing} at {target}°C has {word} thermal energy.")
    return Draft(f"Which object has {word} thermal energy?", text(target), [text(t) for t in others], solution,
                 "The objects are identical except for their temperatures.")


# (vehicle, distance unit, distance range, time phrase)
MOVERS = [
    ("car", "kilometers", (150, 400), "5 hours"), ("train", "kilometers", (200, 600), "4 hours"),
    ("bicycle", "miles", (10, 40), "2 hours"), ("boat", "kilometers", (30, 120), "3 hours"),
    ("airplane", "miles", (900, 2400), "4 hours"), ("horse", "miles", (8, 30), "2 hours"),
    ("motorcycle", "miles", (60, 200), "3 hours"), ("snail", "centimeters", (30, 300), "1 hour"),
    ("duck", "meters", (300, 900), "10 minutes"), ("bus", "kilometers", (80, 250), "4 hours"),
]
DIRECTIONS = ["north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest"]
SPEED_LECTURE = (
    "An object's speed tells you how fast it is moving. Speed depends on both distance and time.\n"
    "Distance tells you how far the object has moved. Time tells you how long it took to move that "
    "distance.\nWhen two objects move for the same amount of time, the object that moves farther has the "
    "higher speed, and the object that moves a shorter distance has the lower speed. The direction the "
    "object moves does not change its speed."
)


def make_speed(rng: random.Random) -> Draft:
    thing, unit, (lo, hi), time = rng.choice(MOVERS)
    plural = f"{thing}es" if thing == "bus" else f"{thing}s"
    a, b = rng.sample(range(lo, hi + 1, 5 if hi >= 100 else 1), 2)
    higher = rng.random() < 0.6
    target, other = (max(a, b), min(a, b)) if higher else (min(a, b), max(a, b))
    d1, d2 = rng.sample(DIRECTIONS, 2)
    article = "an" if thing[0] in "aeiou" else "a"
    text = lambda d, where: f"{article} {thing} that moved {number(d)} {unit} {where} in {time}"  # noqa: E731
    word = "higher" if higher else "lower"
    farther = "farther" if higher else "a shorter distance"
    solution = (f"Look at the distance each {thing} moved and the time it took to move that distance. The "
                f"direction each {thing} moved does not affect its speed.\nNotice that each {thing} moved for "
                f"{time}. The {thing} that moved {number(target)} {unit} moved {farther} in that time. So, that "
                f"{thing} must have moved at the {word} speed.")
    return Draft(f"Compare the motion of two {plural}. Which {thing} was moving at a {word} speed?",
                 text(target, d1), [text(other, d2)], solution)


MAGNETS = ["bar magnets", "horseshoe magnets", "ring magnets", "round fridge magnets", "disk magnets"]
POLE_NAMES = {"N": "north", "S": "south"}
MAGNET_LECTURE = (
    "Magnets can pull or push on other magnets without touching them. When magnets attract, they pull "
    "together. When magnets repel, they push apart.\nEvery magnet has two poles, called north and south. "
    "Whether magnets attract or repel depends on which poles are closest to each other.\n"
    "Opposite poles attract: a north pole and a south pole pull together.\n"
    "Like poles repel: two north poles, or two south poles, push apart."
)


def _pole_story(rng: random.Random, p1: str, p2: str) -> str:
    name, kind = rng.choice(NAMES), rng.choice(MAGNETS)
    a, b = POLE_NAMES[p1], POLE_NAMES[p2]
    frames = [
        f"{name} put two {kind} on a table. The {a} pole of one magnet faced the {b} pole of the other magnet.",
        f"{name} held two {kind} close together. The {a} pole of the first magnet was closest to the {b} pole "
        f"of the second magnet.",
        f"In a science lab, {name} lined up two {kind} so that a {a} pole faced a {b} pole.",
        f"{name} placed two {kind} in a row. The magnets were placed so that their {a} and {b} poles were "
        f"closest to each other." if p1 != p2 else
        f"{name} placed two {kind} in a row. The magnets were placed so that their {a} poles were closest to "
        f"each other.",
    ]
    return rng.choice(frames)


def make_magnet_pair(rng: random.Random) -> Draft:
    p1, p2 = rng.choice("NS"), rng.choice("NS")
    attract = p1 != p2
    story = _pole_story(rng, p1, p2)
    hint = f"{story}\nHint: Magnets that attract pull together. Magnets that repel push apart."
    a, b = POLE_NAMES[p1], POLE_NAMES[p2]
    if attract:
        why = f"A {a} pole is closest to a {b} pole. Opposite poles attract. So, these magnets will attract each other."
    else:
        why = f"Two {a} poles are closest to each other. Like poles repel. So, these magnets will repel each other."
    solution = "To predict whether the magnets attract or repel, look at which poles are closest to each other.\n" + why
    if rng.random() < 0.6:
        right, wrong = ("attract", "repel") if attract else ("repel", "attract")
        return Draft("Will these magnets attract or repel each other?", right, [wrong], solution, hint)
    right, wrong = (("They will pull together.", "They will push apart.") if attract
                    else ("They will push apart.", "They will pull together."))
    return Draft("What will happen to the magnets?", right, [wrong], solution, hint)


DISTANCE_LECTURE = (
    "Magnets can pull or push on each other without touching. These pulls and pushes are called magnetic "
    "forces.\nThe strength of a force is called its magnitude. The magnitude of the magnetic force between "
    "two magnets depends on the distance between them. The closer the magnets are, the greater the "
    "magnitude of the force. The farther apart they are, the smaller the magnitude of the force."
)


def make_magnet_distance(rng: random.Random) -> Draft:
    name, kind = rng.choice(NAMES), rng.choice(MAGNETS)
    unit = rng.choice(["centimeters", "inches", "millimeters"])
    d1, d2 = rng.sample(range(1, 13), 2)
    hint = (f"{name} has two pairs of identical {kind}. In Pair 1, the magnets are {d1} {unit} apart. In Pair 2, "
            f"the magnets are {d2} {unit} apart. The magnets in each pair face each other the same way.")
    greater = rng.random() < 0.6
    closer = 1 if d1 < d2 else 2
    target = closer if greater else 3 - closer
    word = "greater" if greater else "smaller"
    text = lambda p: f"The magnitude of the magnetic force is {word} in Pair {p}."  # noqa: E731
    choices = [text(target), text(3 - target), "The magnitude of the magnetic force is the same in both pairs."]
    n = rng.choice([2, 3, 3])
    near, far = min(d1, d2), max(d1, d2)
    solution = (f"Distance affects the magnitude of the magnetic force. The magnets in Pair {closer} are closer "
                f"together ({near} {unit}) than the magnets in Pair {3 - closer} ({far} {unit}). So, the magnitude "
                f"of the magnetic force is greater in Pair {closer} than in Pair {3 - closer}, and it is smaller in "
                f"Pair {3 - closer}.")
    return Draft("Think about the magnetic force between the magnets in each pair. Which of the following "
                 "statements is true?", choices[0], choices[1:n], solution, hint)


MATTER = {
    "solid": ["a rock", "a wooden ruler", "a crayon", "an ice cube", "a coin", "a pencil", "a brick", "a spoon",
              "a glass marble", "a seashell", "a baseball bat", "a wool hat", "a stuffed animal", "a button"],
    "liquid": ["milk", "orange juice", "rainwater", "vinegar", "olive oil", "honey", "shampoo", "lemonade",
               "melted butter", "the water in a fishbowl", "maple syrup", "apple juice", "liquid soap"],
    "gas": ["the air inside a balloon", "the helium in a party balloon", "the air in a bicycle tire",
            "the oxygen in a scuba tank", "water vapor", "the air you breathe out", "the neon inside a neon sign",
            "the bubbles of gas in a glass of soda", "the air inside a soccer ball"],
}
STATE_WHY = {
    "solid": "A solid has a size and shape of its own.",
    "liquid": "A liquid takes the shape of any container it is in, but it keeps its volume.",
    "gas": "A gas expands to fill all the space in its container.",
}
STATES_LECTURE = (
    "Matter is anything that has mass and takes up space. Solid, liquid, and gas are three states of matter.\n"
    "A solid has a definite shape and a definite volume. If you move a solid, its shape stays the same.\n"
    "A liquid has a definite volume but not a definite shape. It flows and takes the shape of its container.\n"
    "A gas has neither a definite shape nor a definite volume. It spreads out to fill the space it is in."
)


def make_state(rng: random.Random) -> Draft:
    state = rng.choice(list(MATTER))
    thing = rng.choice(MATTER[state])
    if rng.random() < 0.5:
        others = [s for s in MATTER if s != state]
        question = f"Is {thing} a solid, a liquid, or a gas?"
        solution = f"{cap(thing)} is a {state}. {STATE_WHY[state]}"
        return Draft(question, f"a {state}", [f"a {s}" for s in others], solution)
    n = rng.choice([2, 3])
    other_states = rng.sample([s for s in MATTER if s != state], n - 1)
    others = [rng.choice(MATTER[s]) for s in other_states]
    lines = [f"{cap(thing)} is a {state}. {STATE_WHY[state]}"]
    lines += [f"{cap(o)} is a {s}." for o, s in zip(others, other_states)]
    return Draft(f"Select the {state}.", thing, others, "\n".join(lines))


# (change, kind, why)
CHANGES = [
    ("baking cookies", "chemical", "The cookie dough turns into cookies, a different type of matter."),
    ("burning a piece of wood", "chemical", "The wood and oxygen in the air change into ash and smoke."),
    ("cooking an egg", "chemical", "A cooked egg is a different type of matter than a raw egg."),
    ("rust forming on a nail", "chemical", "The iron in the nail reacts with oxygen and water to form rust."),
    ("roasting a marshmallow", "chemical", "The sugar on the outside changes into a brown, crispy new substance."),
    ("milk going sour", "chemical", "Bacteria change the milk into new substances with a sour taste."),
    ("a sliced apple turning brown", "chemical", "The apple reacts with oxygen in the air to form new substances."),
    ("lighting a match", "chemical", "The match head burns and changes into ash, smoke, and other new matter."),
    ("mixing baking soda and vinegar", "chemical", "The two react to form new substances, including a gas."),
    ("a silver spoon tarnishing", "chemical", "The silver reacts with the air to form a dark new substance."),
    ("frying an egg", "chemical", "Heat changes the egg into a different type of matter."),
    ("a copper statue turning green", "chemical", "The copper reacts with the air to form a green new substance."),
    ("cooking a pancake", "chemical", "The batter changes into a cooked pancake, a different type of matter."),
    ("setting off fireworks", "chemical", "The chemicals in the fireworks burn and change into new substances."),
    ("toasting a slice of bread", "chemical", "Heat changes the surface of the bread into a new, darker substance."),
    ("leaves decaying on the ground", "chemical", "Living things break the leaves down into new substances."),
    ("burning logs in a campfire", "chemical", "The logs and oxygen change into ash, smoke, and gases."),
    ("digesting food", "chemical", "The body breaks food down into different substances it can use."),
    ("cutting a piece of paper", "physical", "The pieces are smaller, but they are still made of paper."),
    ("an ice cube melting", "physical", "Ice and liquid water are both made of water."),
    ("water freezing into ice", "physical", "Liquid water and ice are both made of water."),
    ("breaking a piece of glass", "physical", "Each broken piece is still made of glass."),
    ("tearing a paper towel", "physical", "The pieces are still made of paper towel."),
    ("crushing an aluminum can", "physical", "The can changes shape, but it is still made of aluminum."),
    ("folding a paper airplane", "physical", "The paper gets a new shape, but it is still paper."),
    ("knitting a scarf", "physical", "The yarn is arranged into a scarf, but it is still the same yarn."),
    ("dissolving sugar in water", "physical", "The sugar and water mix, but no new substance forms."),
    ("mixing sand and gravel", "physical", "The sand and gravel are mixed, but each stays the same."),
    ("water boiling on a stove", "physical", "Liquid water changes into water vapor. Both are made of water."),
    ("chopping carrots", "physical", "The carrot pieces are smaller, but they are still carrot."),
    ("carving a piece of wood", "physical", "The wood gets a new shape, but it is still wood."),
    ("stretching a rubber band", "physical", "The rubber band changes shape, but it is still rubber."),
    ("sharpening a pencil", "physical", "The pencil gets shorter and pointed, but it is still wood and graphite."),
    ("dew forming on grass", "physical", "Water vapor in the air turns into liquid water. Both are water."),
    ("breaking a stick in half", "physical", "The two pieces are still made of wood."),
    ("slicing a loaf of bread", "physical", "The slices are smaller, but they are still bread."),
    ("melting a stick of butter", "physical", "Solid butter and melted butter are the same type of matter."),
    ("a puddle drying up in the sun", "physical", "The liquid water turns into water vapor. Both are water."),
    ("shaping clay into a bowl", "physical", "The clay gets a new shape, but it is still clay."),
    ("stirring salt into water", "physical", "The salt and water mix, but no new substance forms."),
]
CHANGE_LECTURE = (
    "Matter can change in two common ways: physical changes and chemical changes.\n"
    "In a chemical change, the type of matter changes. The matter you have after the change is a "
    "different type of matter from what you started with. Burning, cooking, and rusting are chemical "
    "changes.\nIn a physical change, the type of matter stays the same. Cutting, bending, mixing, and "
    "changes of state such as melting and freezing are physical changes."
)


def make_change(rng: random.Random) -> Draft:
    change, kind, why = rng.choice(CHANGES)
    other = "physical" if kind == "chemical" else "chemical"
    if rng.random() < 0.55:
        solution = f"{cap(change)} is a {kind} change. {why}"
        return Draft(f"Complete the sentence.\n{cap(change)} is a ().", f"{kind} change", [f"{other} change"],
                     solution)
    n = rng.choice([2, 3])
    pool = [c for c in CHANGES if c[1] == other]
    others = rng.sample(pool, n - 1)
    lines = [f"{cap(change)} is a {kind} change. {why}"] + [f"{cap(c)} is a {other} change. {w}" for c, _, w in others]
    return Draft(f"Which change is a {kind} change?", change, [c for c, _, _ in others], "\n".join(lines))


TEMPLATES = [
    Template("thermal_energy", "natural science", "physics", "Heat and thermal energy",
             "How is temperature related to thermal energy?", (5, 8), THERMAL_LECTURE, 120, make_thermal),
    Template("compare_speeds", "natural science", "physics", "Force and motion",
             "Compare the speeds of moving objects", (4, 8), SPEED_LECTURE, 120, make_speed),
    Template("magnets_attract_repel", "natural science", "physics", "Magnets",
             "Predict magnetic attraction and repulsion", (2, 5), MAGNET_LECTURE, 240, make_magnet_pair,
             labels=("attract", "repel", "They will pull together.", "They will push apart.")),
    Template("magnets_distance", "natural science", "physics", "Magnets",
             "Compare magnitudes of magnetic forces", (6, 9), DISTANCE_LECTURE, 200, make_magnet_distance,
             labels=tuple(f"The magnitude of the magnetic force is {s}." for s in (
                 "greater in Pair 1", "greater in Pair 2", "smaller in Pair 1", "smaller in Pair 2",
                 "the same in both pairs"))),
    Template("states_of_matter", "natural science", "physics", "States of matter",
             "Identify solids, liquids, and gases", (1, 4), STATES_LECTURE, 120, make_state,
             labels=("a solid", "a liquid", "a gas")),
    Template("physical_chemical_change", "natural science", "chemistry", "Physical and chemical change",
             "Identify physical and chemical changes", (3, 7), CHANGE_LECTURE, 140, make_change,
             labels=("physical change", "chemical change")),
]
