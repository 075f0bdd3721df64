"""The built-in evaluation methods: categorical (the letters' probabilities), generative (what the model
writes, read by the paper's rules) and plan (a flawed check kept to show why it misleads).

Found by `core.evaluation.methods` like any other `method_*.py` file (this one sorts first, so the
categorical method is the first choice).
"""

from __future__ import annotations

from core.evaluation import categorical, generative, scoring
from core.evaluation.methods import Method, register

register(Method("categorical", "Which choice the model finds most likely",
                "Reads the model's probability of each answer letter: fast and the same every time.",
                categorical.run_categorical, 0.6))
register(Method("generative", "What the model writes",
                "The model writes its answer and the paper's rules read the letter from it: slower.",
                generative.run_generative, 3.0,
                cache_key_part=lambda req: {"max_new_tokens": req.max_new_tokens, "seed": req.seed}))
register(Method("plan", "A flawed check, to see why it misleads",
                "Looks for the letter in the first 100 characters of the text, prompt included: the prompt "
                "alone scores well, so this one is wrong on purpose.",
                generative.run_plan, 3.0, valid=False, warning=scoring.PLAN_WARNING))
