"""A second Python file in the upload."""
