"""pytest plugin for mutant runs (``-p autograder.mutants_pytest``, after ``course_pytest``).

Same derandomised examples as grading, without hypothesis' shrink phase: a mutant is
killed by its first failing example, and shrinking it (minutes under load) tells us nothing.
"""
from hypothesis import Phase, settings

settings.register_profile("course-mutants", parent=settings.get_profile("course"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("course-mutants")
