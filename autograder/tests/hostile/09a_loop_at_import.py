# base: solution
"""Case 9: the solution, then an endless loop at import."""
while True:
    pass
