"""Serving: the tutor's streaming chat, shared safely by many students (the Tutor page and the class
link are views over it).
"""
