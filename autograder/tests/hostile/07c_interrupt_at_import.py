# base: solution
"""Case 7: the solution, then KeyboardInterrupt at import."""
raise KeyboardInterrupt
