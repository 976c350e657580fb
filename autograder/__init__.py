"""Instructor tooling of the unsupervised-learning course: build, grade, check, demo.

Layout: ``config`` (course.yml), ``stubgen`` (stubs from solutions), ``bugs`` (the bug
catalogue), ``sandbox`` (student code in a separate limited process), ``runner``
(trusted grading), ``otter_plugin`` (otter integration), ``build`` (zips),
``grading`` (course grade / grade-all), ``check``, ``demo``, ``cli``.
Each assignment's hidden tests and bug catalogue live in ``autograder/<id>/``.
"""
