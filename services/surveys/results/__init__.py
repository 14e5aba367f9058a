"""Survey results: the rules for what a results page may show (suppression, representativeness)."""
