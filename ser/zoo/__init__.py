"""The SER model zoo."""
