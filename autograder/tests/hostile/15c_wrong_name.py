# base: solution
"""Case 15: the solution, uploaded as kmeans_final.py (the test renames it)."""
