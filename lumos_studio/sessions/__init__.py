"""Sessions: loading the user's agent code and running it."""
