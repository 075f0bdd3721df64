"""Natural-science templates from biology and earth science: living things, animal groups, inherited and
acquired traits, and weather versus climate.

Weather passages are about made-up towns, so no sentence makes a false claim about a real place.
"""

from __future__ import annotations

import random

from core.data.samplegen.common import NAMES, Draft, Template, cap, strip_article

LIVING = {
    "plant": ["a rose bush", "an oak tree", "a fern", "a cactus", "a sunflower", "a tomato plant", "a maple tree",
              "a clump of moss", "a pine tree", "a dandelion"],
    "animal": ["a honeybee", "a goldfish", "a robin", "a frog", "an earthworm", "a squirrel", "a ladybug",
               "a hermit crab", "a rabbit", "a snail"],
    "fungus": ["a mushroom", "a patch of mold on bread"],
}
LIVING_WHY = {
    "plant": "It grows, responds to its environment, and needs water. It makes its own food using sunlight.",
    "animal": "It grows, responds to its environment, and needs food and water.",
    "fungus": "It grows, responds to its environment, and needs food and water.",
}
NONLIVING = ["a rock", "a bicycle", "a teddy bear", "a cloud", "a pair of scissors", "a shoe", "a kite",
             "a toy car", "a crayon", "a snowman", "a river", "a robot", "a wind-up toy mouse", "a plastic flower",
             "a rain boot", "a backpack", "a soccer ball", "a clock", "a paper airplane", "a seashell"]
LIVING_LECTURE = (
    "All living things share some traits. Living things grow and change. They respond to their "
    "environment. They need food or energy and water, and they can make more living things like "
    "themselves.\nNonliving things do not have all of these traits. Some nonliving things can move or "
    "change, like a river or a wind-up toy, but they do not grow, and they do not need food or water."
)


def make_living(rng: random.Random) -> Draft:
    kinds = [(k, x) for k, xs in LIVING.items() for x in xs]
    n = rng.choice([2, 2, 3, 4])
    if rng.random() < 0.6:
        kind, thing = rng.choice(kinds)
        others = rng.sample(NONLIVING, n - 1)
        lines = [f"{cap(thing)} is a living thing. {LIVING_WHY[kind]}"]
        lines += [f"{cap(o)} is not a living thing. It does not grow, and it does not need food or water."
                  for o in others]
        return Draft("Select the living thing.", thing, others, "\n".join(lines))
    thing = rng.choice(NONLIVING)
    picked = rng.sample(kinds, n - 1)
    lines = [f"{cap(thing)} is not a living thing. It does not grow, and it does not need food or water."]
    lines += [f"{cap(o)} is a living thing. {LIVING_WHY[k]}" for k, o in picked]
    return Draft("Select the nonliving thing.", thing, [o for _, o in picked], "\n".join(lines))


ANIMALS = {
    "mammal": ["a koala", "a dolphin", "a bat", "a polar bear", "a horse", "a rabbit", "a giraffe", "a blue whale",
               "a cow", "a mouse", "a kangaroo", "a tiger", "a sea otter", "an elephant"],
    "bird": ["a penguin", "an ostrich", "a robin", "a bald eagle", "a flamingo", "a parrot", "an owl",
             "a hummingbird", "a pelican", "a duck", "a woodpecker"],
    "fish": ["a great white shark", "a salmon", "a goldfish", "a clownfish", "a tuna", "a seahorse", "a trout",
             "a catfish", "a moray eel", "a swordfish"],
    "reptile": ["a rattlesnake", "a sea turtle", "an alligator", "a gecko", "an iguana", "a Komodo dragon",
                "a chameleon", "a crocodile", "a tortoise", "a garter snake"],
    "amphibian": ["a bullfrog", "a salamander", "a newt", "a toad", "an axolotl", "a tree frog",
                  "a poison dart frog", "a fire salamander"],
}
GROUP_TRAITS = {
    "mammal": "Mammals have hair or fur and feed their young milk.",
    "bird": "Birds have feathers, two wings, and a beak.",
    "fish": "Fish live underwater. They have fins, not limbs.",
    "reptile": "Reptiles have scaly, waterproof skin. Most reptiles lay eggs with shells.",
    "amphibian": "Amphibians have moist skin and begin their lives in water.",
}
ARTICLE = {"mammal": "a mammal", "bird": "a bird", "fish": "a fish", "reptile": "a reptile",
           "amphibian": "an amphibian"}
ANIMALS_LECTURE = (
    "Scientists sort animals into groups based on traits they share. This is called classification.\n"
    + "\n".join(GROUP_TRAITS.values())
)


def make_animal(rng: random.Random) -> Draft:
    group = rng.choice(list(ANIMALS))
    animal = rng.choice(ANIMALS[group])
    n = rng.choice([2, 3, 4, 5])
    other_groups = rng.sample([g for g in ANIMALS if g != group], n - 1)
    others = [rng.choice(ANIMALS[g]) for g in other_groups]
    lines = [f"{cap(animal)} is {ARTICLE[group]}. {GROUP_TRAITS[group]}"]
    lines += [f"{cap(o)} is {ARTICLE[g]}. {GROUP_TRAITS[g]}" for o, g in zip(others, other_groups)]
    return Draft(f"Select the {group}.", animal, others, "\n".join(lines))


# (trait sentence ending, the trait as a noun phrase, why)
INHERITED = [
    ("has blue eyes", "having blue eyes", "Eye color is passed down from biological parents."),
    ("has curly hair", "having curly hair", "Hair texture is passed down from biological parents."),
    ("has brown eyes", "having brown eyes", "Eye color is passed down from biological parents."),
    ("has naturally red hair", "having naturally red hair", "Natural hair color is passed down from parents."),
    ("has dimples", "having dimples", "Dimples are passed down from biological parents."),
    ("has straight black hair", "having straight black hair", "Hair color and texture are passed down from parents."),
    ("has green eyes", "having green eyes", "Eye color is passed down from biological parents."),
    ("has wavy brown hair", "having wavy brown hair", "Hair color and texture are passed down from parents."),
]
ACQUIRED = [
    ("has a scar on the left knee", "having a scar", "A scar comes from an injury, not from parents."),
    ("knows how to ride a bicycle", "knowing how to ride a bicycle", "People learn to ride a bicycle."),
    ("can speak French", "speaking French", "People learn to speak a language."),
    ("can play the piano", "playing the piano", "People learn to play the piano."),
    ("knows how to swim", "knowing how to swim", "People learn how to swim."),
    ("can juggle three balls", "juggling", "People learn to juggle by practicing."),
    ("knows how to knit", "knowing how to knit", "People learn to knit."),
    ("has short hair because of a haircut", "having short hair from a haircut",
     "A haircut changes hair length, and it is not passed down from parents."),
    ("can read music", "reading music", "People learn to read music."),
    ("knows how to bake bread", "knowing how to bake bread", "People learn to bake bread."),
]
TRAITS_LECTURE = (
    "Organisms, including people, have both inherited and acquired traits.\nInherited traits are passed "
    "down from biological parents to their offspring. People do not need to learn inherited traits. Eye "
    "color and natural hair color are inherited traits.\nAcquired traits are gained during a person's life. "
    "Some are learned, like riding a bicycle or speaking a language. Others are caused by the environment, "
    "like a scar from a fall."
)


def make_trait(rng: random.Random) -> Draft:
    inherited = rng.random() < 0.5
    sentence, noun, why = rng.choice(INHERITED if inherited else ACQUIRED)
    name = rng.choice(NAMES)
    kind, other = ("inherited", "acquired") if inherited else ("acquired", "inherited")
    solution = f"{why} So, {noun} is an {kind} trait."
    return Draft(f"Is this trait inherited or acquired?\n{name} {sentence}.", kind, [other], solution,
                 "Read the description of a trait.")


TOWNS = ["Maple Valley", "Harbor Point", "Cedar Ridge", "Lake Wren", "Stony Creek", "Fox Hollow", "Bramble Bay",
         "Silver Falls", "Pine Mesa", "Willow Bend", "Copper Flats", "North Fenwick", "Juniper Springs",
         "Red Rock Canyon", "Misty Harbor", "Elm Crossing"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
COMPASS = ["north", "south", "east", "west"]
# (passage frame, what it tells you about)
WEATHER = [
    ("On {day}, the wind in {town} was blowing from the {dir} at {n} miles per hour.", "the wind"),
    ("It rained for most of the afternoon in {town} yesterday.", "the rain"),
    ("The sky above {town} was clear and sunny this morning.", "the sky"),
    ("There was thick fog over {town} on {day} morning.", "the fog"),
    ("The temperature in {town} reached {t}°F yesterday afternoon.", "the temperature"),
    ("{name} saw hail falling in {town} during a storm last {day}.", "a hailstorm"),
    ("Dark clouds covered the sky over {town} on the day of the school picnic.", "the clouds"),
    ("It snowed {k} inches in {town} last night.", "the snow"),
    ("The air in {town} felt hot and sticky on {day} afternoon.", "the temperature and humidity"),
]
CLIMATE = [
    ("{town} gets a lot of rain every spring.", "the rain"),
    ("Winters in {town} are usually cold and snowy.", "the temperature and snow"),
    ("Summers in {town} are typically hot and dry.", "the temperature and rain"),
    ("In {town}, the wind usually blows from the {dir} during the summer.", "the wind"),
    ("{town} has foggy mornings for most of the year.", "the fog"),
    ("The temperature in {town} rarely drops below freezing in the winter.", "the temperature"),
    ("Each year, {town} gets about {n} inches of rain.", "the rain"),
    ("Most days in {town} are sunny, even in the winter.", "the sunshine"),
    ("Strong storms often pass through {town} in late summer.", "storms"),
]
WEATHER_HINT = ("Hint: Weather is what the atmosphere is like at a certain place and time. Climate is the "
                "pattern of weather in a certain place.")
WEATHER_LECTURE = (
    "The atmosphere is the layer of air around Earth. Both weather and climate describe the atmosphere.\n"
    "Weather is what the atmosphere is like at a certain place and time. Weather can change quickly, even "
    "within one day.\nClimate is the pattern of weather in a certain place over many years. Words such as "
    "usually, often, every year, and most days are clues that a passage describes climate."
)


def make_weather(rng: random.Random) -> Draft:
    is_weather = rng.random() < 0.5
    frame, about = rng.choice(WEATHER if is_weather else CLIMATE)
    town = rng.choice(TOWNS)
    passage = frame.format(town=town, day=rng.choice(DAYS), dir=rng.choice(COMPASS), n=rng.randint(10, 60),
                           t=rng.randint(70, 101), k=rng.randint(2, 14), name=rng.choice(NAMES))
    if is_weather:
        why = (f"This passage tells you about {about} in {town} at a certain time. It describes the atmosphere "
               f"at a certain place and time. So, this passage describes the weather.")
    else:
        why = (f"This passage tells you about the usual pattern of {strip_article(about)} in {town}. It does not "
               f"describe what the atmosphere is like on one day. So, this passage describes the climate.")
    right, wrong = ("weather", "climate") if is_weather else ("climate", "weather")
    return Draft(f"Does this passage describe the weather or the climate?\n{passage}", right, [wrong],
                 f"Read the text carefully.\n{passage}\n{why}", WEATHER_HINT)


TEMPLATES = [
    Template("living_things", "natural science", "biology", "Classification", "Identify living and nonliving things",
             (1, 3), LIVING_LECTURE, 120, make_living),
    Template("animal_groups", "natural science", "biology", "Classification",
             "Identify mammals, birds, fish, reptiles, and amphibians", (1, 5), ANIMALS_LECTURE, 140, make_animal),
    Template("inherited_acquired", "natural science", "biology", "Heredity",
             "Identify inherited and acquired traits", (3, 6), TRAITS_LECTURE, 240, make_trait,
             labels=("inherited", "acquired")),
    Template("weather_climate", "natural science", "earth-science", "Weather and climate",
             "What's the difference between weather and climate?", (3, 7), WEATHER_LECTURE, 240, make_weather,
             labels=("weather", "climate")),
]
