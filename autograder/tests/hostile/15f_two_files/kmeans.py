# base: solution
"""Case 15: the solution, uploaded with a second .py file beside it."""
