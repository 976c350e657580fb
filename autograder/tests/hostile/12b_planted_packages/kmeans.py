# base: stub
"""Case 12: the stub, uploaded in a zip with a .OTTER_LOG and a pickle that run code when
unpickled, and packages named like what the grader imports (numpy, sitecustomize, otter,
hypothesis, autograder with an always-passing verdict, the course bundle, tests/conftest.py)."""
