"""Practice sessions: a teacher sets a fixed list of questions, a class answers them on the class link.

- `questions`: which questions a session may draw (seeded; no image question without a caption).
- `sessions`: the session folder in the app home (join code, students, answers, hints; atomic writes).
- `explain`: the tutor's explanation of a wrong answer, from the row's own lecture and solution.
- `report`: what the teacher sees (per question, per skill, the misconception), CSV, the model's answers.

    python -m core practice start --data sample --n 10 --grade 3-5
"""
