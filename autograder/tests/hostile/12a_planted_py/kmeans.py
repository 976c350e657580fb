# base: stub
"""Case 12: the stub, uploaded in a zip with a conftest.py, a sitecustomize.py and a numpy.py."""
