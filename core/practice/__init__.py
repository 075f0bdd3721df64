"""Practice sessions: a teacher sets a fixed list of questions, a class answers them on the class link.

- `questions`: which questions a session may draw (seeded; no image question without a caption).
- `sessions`: the session folder in the app home (join code, the teacher's start/stop/delete; atomic writes).
- `student_actions`: a student's side: join with a nickname, answer in order, the hint ladder.
- `explain`: the tutor's explanation of a wrong answer, from the row's own lecture and solution.
- `report`: what the teacher sees (per question, per skill, the misconception), CSV, the model's answers.

    python -m core practice start --data sample --n 10 --grade 3-5
"""
