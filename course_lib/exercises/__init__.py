"""Exercises, one module per lesson: ``from course_lib.exercises.lesson01 import q1, q2, ...``.

Each module defines :class:`course_lib.checks.Exercise` objects named ``q1``, ``q2``, ...
"""
