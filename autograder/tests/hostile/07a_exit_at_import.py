# base: solution
"""Case 7: the solution, then sys.exit(0) at import (raise SystemExit is the same)."""
import sys

sys.exit(0)
