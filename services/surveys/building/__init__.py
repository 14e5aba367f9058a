"""A survey's document and its rules, without I/O: see ``definition``."""
