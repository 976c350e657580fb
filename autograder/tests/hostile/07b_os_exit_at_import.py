# base: solution
"""Case 7: the solution, then os._exit(0) at import (otter's kernel would die and write nothing)."""
import os

os._exit(0)
