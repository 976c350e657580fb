"""Stub generation from solution markers, and the committed stubs being in sync."""
from __future__ import annotations

import ast

import pytest

from autograder.config import load_course
from autograder.errors import CourseError
from autograder.stubgen import make_stub, stub_for

SOLUTION = '''def f(x):
    """Double x."""
    # BEGIN SOLUTION: multiply by two
    return 2 * x
    # END SOLUTION
'''


def test_marked_block_becomes_todo_and_raise():
    stub = make_stub(SOLUTION)
    assert "2 * x" not in stub
    assert "# TODO: multiply by two" in stub
    assert 'raise NotImplementedError("TODO: multiply by two")' in stub
    assert '"""Double x."""' in stub
    ast.parse(stub)


@pytest.mark.parametrize("text, problem", [
    ("x = 1\n", "no '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("# END SOLUTION\n", "END SOLUTION without BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another block"),
])
def test_broken_markers_are_reported(text, problem):
    with pytest.raises(CourseError, match=problem):
        make_stub(text)


@pytest.mark.parametrize("assignment", [a.id for a in load_course().assignments])
def test_committed_stub_is_generated_from_the_solution(assignment):
    a = load_course().get(assignment)
    assert a.stub_path.read_text() == stub_for(a.solution_path), f"run `course stubs {assignment}`"
    ast.parse(a.stub_path.read_text())
