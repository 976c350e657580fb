# base: solution
"""Case 15: the solution inside the handout folder, zipped as a whole (kmeans/kmeans.py)."""
