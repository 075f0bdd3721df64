"""Social-science templates: state capitals, the Thirteen Colonies, cardinal directions on a text map,
goods and services, needs and wants, and supply.
"""

from __future__ import annotations

import random

from core.data.samplegen.common import Draft, Template, cap

CAPITALS = {
    "Alabama": "Montgomery", "Alaska": "Juneau", "Arizona": "Phoenix", "Arkansas": "Little Rock",
    "California": "Sacramento", "Colorado": "Denver", "Connecticut": "Hartford", "Delaware": "Dover",
    "Florida": "Tallahassee", "Georgia": "Atlanta", "Hawaii": "Honolulu", "Idaho": "Boise",
    "Illinois": "Springfield", "Indiana": "Indianapolis", "Iowa": "Des Moines", "Kansas": "Topeka",
    "Kentucky": "Frankfort", "Louisiana": "Baton Rouge", "Maine": "Augusta", "Maryland": "Annapolis",
    "Massachusetts": "Boston", "Michigan": "Lansing", "Minnesota": "Saint Paul", "Mississippi": "Jackson",
    "Missouri": "Jefferson City", "Montana": "Helena", "Nebraska": "Lincoln", "Nevada": "Carson City",
    "New Hampshire": "Concord", "New Jersey": "Trenton", "New Mexico": "Santa Fe", "New York": "Albany",
    "North Carolina": "Raleigh", "North Dakota": "Bismarck", "Ohio": "Columbus", "Oklahoma": "Oklahoma City",
    "Oregon": "Salem", "Pennsylvania": "Harrisburg", "Rhode Island": "Providence", "South Carolina": "Columbia",
    "South Dakota": "Pierre", "Tennessee": "Nashville", "Texas": "Austin", "Utah": "Salt Lake City",
    "Vermont": "Montpelier", "Virginia": "Richmond", "Washington": "Olympia", "West Virginia": "Charleston",
    "Wisconsin": "Madison", "Wyoming": "Cheyenne",
}
# large cities that are not the capital: the tempting wrong answers
BIG_CITIES = {
    "New York": ["New York City", "Buffalo"], "California": ["Los Angeles", "San Francisco", "San Diego"],
    "Texas": ["Houston", "Dallas"], "Florida": ["Miami", "Orlando"], "Illinois": ["Chicago"],
    "Pennsylvania": ["Philadelphia", "Pittsburgh"], "Washington": ["Seattle", "Spokane"], "Oregon": ["Portland"],
    "Nevada": ["Las Vegas", "Reno"], "Michigan": ["Detroit"], "Ohio": ["Cleveland", "Cincinnati"],
    "Missouri": ["Kansas City", "St. Louis"], "Kentucky": ["Louisville"], "Louisiana": ["New Orleans"],
    "Georgia": ["Savannah"], "Maryland": ["Baltimore"], "Arizona": ["Tucson"], "Wisconsin": ["Milwaukee"],
    "Minnesota": ["Minneapolis"], "New Jersey": ["Newark"], "Alabama": ["Birmingham"], "Tennessee": ["Memphis"],
    "North Carolina": ["Charlotte"], "Vermont": ["Burlington"], "Delaware": ["Wilmington"],
    "Alaska": ["Anchorage"], "Nebraska": ["Omaha"], "Kansas": ["Wichita"], "New Hampshire": ["Manchester"],
    "Montana": ["Billings"], "New Mexico": ["Albuquerque"], "South Dakota": ["Sioux Falls"],
}
CAPITALS_LECTURE = (
    "The United States has 50 states. Each state has a capital, the city where the state's government "
    "meets and makes laws. The capital is not always the largest or best-known city in the state. For "
    "example, the capital of New York is Albany, not New York City."
)


def make_capital(rng: random.Random) -> Draft:
    state = rng.choice(list(CAPITALS))
    capital = CAPITALS[state]
    n = rng.choice([2, 3, 4, 4])
    wrong = []
    if state in BIG_CITIES and rng.random() < 0.7:
        wrong.append(rng.choice(BIG_CITIES[state]))
    other_capitals = [c for s, c in CAPITALS.items() if s != state and c not in wrong]
    wrong += rng.sample(other_capitals, n - 1 - len(wrong))
    solution = f"{capital} is the capital of {state}."
    if any(w in BIG_CITIES.get(state, []) for w in wrong):
        big = next(w for w in wrong if w in BIG_CITIES.get(state, []))
        solution += f" {big} is a large city in {state}, but it is not the capital."
    return Draft(f"What is the capital of {state}?", capital, wrong, solution)


COLONIES = ["New Hampshire", "Massachusetts", "Rhode Island", "Connecticut", "New York", "New Jersey",
            "Pennsylvania", "Delaware", "Maryland", "Virginia", "North Carolina", "South Carolina", "Georgia"]
# later states that were never one of the thirteen (Maine and Vermont are left out: their land was claimed by colonies)
NOT_COLONIES = ["Ohio", "Florida", "Texas", "Michigan", "Kentucky", "Tennessee", "Alabama", "Louisiana", "Indiana",
                "Illinois", "Wisconsin", "Mississippi", "Iowa", "Missouri", "California", "Oregon"]
COLONIES_LECTURE = (
    "In the 1600s and 1700s, Great Britain set up colonies along the east coast of North America. By 1776, "
    "there were thirteen of them: New Hampshire, Massachusetts, Rhode Island, Connecticut, New York, New Jersey, "
    "Pennsylvania, Delaware, Maryland, Virginia, North Carolina, South Carolina, and Georgia. In 1776, the "
    "Thirteen Colonies declared independence and became the first states of the United States."
)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])}{',' if len(items) > 2 else ''} and {items[-1]}"


def make_colony(rng: random.Random) -> Draft:
    n = rng.choice([2, 3, 4, 4])
    if rng.random() < 0.7:
        right, wrong = rng.choice(COLONIES), rng.sample(NOT_COLONIES, n - 1)
        verb = "was" if len(wrong) == 1 else "were"
        solution = f"{right} was one of the Thirteen Colonies. {_and(wrong)} {verb} not."
        return Draft("Which of these was one of the Thirteen Colonies?", right, wrong, solution)
    right, wrong = rng.choice(NOT_COLONIES), rng.sample(COLONIES, n - 1)
    solution = (f"{right} was not one of the Thirteen Colonies. It became a state later. {_and(wrong)} "
                f"{'was one' if len(wrong) == 1 else 'were all part'} of the Thirteen Colonies.")
    return Draft("Which of these was not one of the Thirteen Colonies?", right, wrong, solution)


PLACES = ["the library", "the park", "the school", "the fire station", "the post office", "the bakery",
          "the museum", "the hospital", "the zoo", "the pond", "the train station", "the city hall",
          "the swimming pool", "the farmers' market"]
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
DIRECTIONS_LECTURE = (
    "Maps have four cardinal directions: north, south, east, and west. A compass rose on a map shows "
    "which way each direction points.\nOpposite directions come in pairs: north and south, east and west. "
    "If one place is north of a second place, then the second place is south of the first place."
)


def make_direction(rng: random.Random) -> Draft:
    a, b, c = rng.sample(PLACES, 3)
    d1, d2 = rng.sample(list(OPPOSITE), 2)
    facts = [f"{cap(a)} is {d1} of {b}.", f"{cap(c)} is {d2} of {b}."]
    hint = "Read the description of a town map.\n" + " ".join(rng.sample(facts, 2))
    place, fact_dir = rng.choice([(a, d1), (c, d2)])
    reverse = rng.random() < 0.5
    if reverse:
        question = f"Which direction is {b} from {place}?"
        answer = OPPOSITE[fact_dir]
        solution = (f"The map description says that {place} is {fact_dir} of {b}. {cap(fact_dir)} and {answer} "
                    f"are opposite directions. So, {b} is {answer} of {place}.")
    else:
        question = f"Which direction is {place} from {b}?"
        answer = fact_dir
        solution = f"The map description says that {place} is {fact_dir} of {b}. So, the answer is {answer}."
    return Draft(question, answer, [d for d in OPPOSITE if d != answer], solution, hint)


GOODS = ["a baseball bat", "a sweater", "a bag of apples", "a desk lamp", "a skateboard", "a loaf of bread",
         "a bicycle helmet", "a pair of sneakers", "a box of crayons", "a backpack", "a lawn mower", "a toothbrush",
         "a teapot", "a tent", "a pillow", "a dog leash", "a jar of honey", "a winter coat"]
SERVICES = ["a haircut", "washing a car", "fixing a flat tire", "walking a dog", "delivering mail", "cleaning teeth",
            "painting a house", "babysitting", "mowing a lawn", "repairing a roof", "a taxi ride", "a piano lesson",
            "teaching a swimming class", "cleaning windows", "cutting down a tree", "tutoring a student"]
GOODS_LECTURE = (
    "Everything you can buy is either a good or a service.\nA good is something you can touch or hold "
    "in your hands. A pencil, a toy, and an apple are goods.\nA service is a job you pay someone else "
    "to do. A haircut, a bus ride, and a music lesson are services."
)


def _good_or_service_why(item: str, good: bool) -> str:
    if good:
        return f"{cap(item)} is a good. You can touch it, and it is not a job someone does for you."
    return f"{cap(item)} is a service. It is a job you might pay someone else to do, not a thing you can hold."


def make_good_service(rng: random.Random) -> Draft:
    good = rng.random() < 0.5
    item = rng.choice(GOODS if good else SERVICES)
    if rng.random() < 0.6:
        right, wrong = ("a good", "a service") if good else ("a service", "a good")
        return Draft(f"Is {item} a good or a service?", right, [wrong], _good_or_service_why(item, good))
    others = rng.sample(SERVICES if good else GOODS, rng.choice([1, 2]))
    lines = [_good_or_service_why(item, good)] + [_good_or_service_why(o, not good) for o in others]
    return Draft(f"Which of these is a {'good' if good else 'service'}?", item, others, "\n".join(lines))


# (item, why it is needed)
NEEDS = [("a glass of clean water", "People need water to live."), ("a warm coat in winter",
         "People need clothing to stay warm and safe."), ("a healthy meal", "People need food to live and grow."),
         ("a safe place to live", "People need shelter to stay safe."), ("medicine when you are sick",
         "People need medicine to get well."), ("a place to sleep", "People need shelter and rest."),
         ("a bowl of rice", "People need food to live and grow."), ("a pair of shoes for walking to school",
         "People need clothing to protect their bodies.")]
WANTS = ["a video game", "a toy robot", "a candy bar", "a trip to an amusement park", "a new skateboard",
         "a movie ticket", "a gold necklace", "a can of soda", "a concert ticket", "a remote-control car",
         "a second pair of sneakers", "a comic book", "a model airplane kit", "a box of fancy chocolates"]
NEEDS_LECTURE = (
    "A need is something a person must have to live and stay healthy. Food, water, clothing, and shelter "
    "are needs.\nA want is something a person would like to have but can live without. Toys, games, and "
    "treats are wants."
)


def make_need_want(rng: random.Random) -> Draft:
    n = rng.choice([2, 3])
    if rng.random() < 0.55:
        item, why = rng.choice(NEEDS)
        others = rng.sample(WANTS, n - 1)
        lines = [f"{cap(item)} is a need. {why}"] + [f"{cap(o)} is a want. People can live without it." for o in others]
        return Draft("Which of these is a need?", item, others, "\n".join(lines))
    item = rng.choice(WANTS)
    needs = rng.sample(NEEDS, n - 1)
    lines = [f"{cap(item)} is a want. People can live without it."] + [f"{cap(o)} is a need. {w}" for o, w in needs]
    return Draft("Which of these is a want?", item, [o for o, _ in needs], "\n".join(lines))


# (producers, product, something they need to make it)
PRODUCERS = [("bakeries", "bread", "flour"), ("orange farms", "oranges", "water for the trees"),
             ("bicycle factories", "bicycles", "steel"), ("dairy farms", "milk", "hay for the cows"),
             ("furniture workshops", "wooden chairs", "wood"), ("toy factories", "toy trains", "plastic"),
             ("flower farms", "tulips", "tulip bulbs"), ("pizza restaurants", "pizza", "cheese"),
             ("apple orchards", "apples", "bees to pollinate the trees"), ("fishing companies", "fresh fish",
             "fuel for the boats")]
SUPPLY_UP = ["Recently, {k} new {producers} opened in {town}.",
             "The {producers} in {town} recently hired more workers and bought new equipment.",
             "The {producers} in {town} found a cheaper way to get {input}, so each one can make more."]
SUPPLY_DOWN = ["Last month, {k} of the {producers} in {town} closed for good.",
               "A storm damaged several of the {producers} in {town}, and they had to close.",
               "There is a shortage of {input}, so the {producers} in {town} can make much less."]
SUPPLY_TOWNS = ["Greenville", "Oakdale", "Riverside", "Fairview", "Brookfield", "Millbrook", "Lakewood", "Ashton"]
SUPPLY_LECTURE = (
    "Overall supply is the total amount of a good or service that producers make and sell. When producers "
    "can make more, or when there are more producers, the supply goes up. When producers can make less, or "
    "when some producers close, the supply goes down.\nThings that can change the supply include the number "
    "of producers, the materials they need, and the tools and workers they have."
)


def make_supply(rng: random.Random) -> Draft:
    producers, product, needed = rng.choice(PRODUCERS)
    town, n, up = rng.choice(SUPPLY_TOWNS), rng.randint(4, 9), rng.random() < 0.5
    event = rng.choice(SUPPLY_UP if up else SUPPLY_DOWN).format(k=rng.randint(2, 3), producers=producers,
                                                                 town=town, input=needed)
    hint = f"{town} has {n} {producers}. {event}"
    right, wrong = ("The supply will probably go up.", "The supply will probably go down.")
    if not up:
        right, wrong = wrong, right
    way = "up" if up else "down"
    amount = "more" if up else ("fewer" if product.endswith("s") else "less")
    solution = (f"Overall supply is the total amount of a good or service that producers make and sell. {event} "
                f"This means there will probably be {amount} {product} for sale. So, the supply of {product} will "
                f"probably go {way}.")
    return Draft(f"What will probably happen to the overall supply of {product}?", right, [wrong], solution, hint)


TEMPLATES = [
    Template("state_capitals", "social science", "geography", "State capitals", "Identify the 50 state capitals",
             (3, 5), CAPITALS_LECTURE, 140, make_capital),
    Template("thirteen_colonies", "social science", "us-history", "English colonies in North America",
             "Identify the Thirteen Colonies", (4, 8), COLONIES_LECTURE, 100, make_colony),
    Template("cardinal_directions", "social science", "geography", "Geography", "Read a map: cardinal directions",
             (2, 5), DIRECTIONS_LECTURE, 240, make_direction,
             labels=("north", "south", "east", "west")),
    Template("goods_services", "social science", "economics", "Basic economic principles",
             "Identify goods and services", (2, 4), GOODS_LECTURE, 120, make_good_service,
             labels=("a good", "a service")),
    Template("needs_wants", "social science", "economics", "Basic economic principles", "Identify needs and wants",
             (1, 3), NEEDS_LECTURE, 100, make_need_want),
    Template("supply", "social science", "economics", "Supply and demand", "Understand overall supply and demand",
             (5, 9), SUPPLY_LECTURE, 240, make_supply,
             labels=("The supply will probably go up.", "The supply will probably go down.")),
]
