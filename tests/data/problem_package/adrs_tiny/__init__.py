"""``tiny``: pick the largest number of a list; a problem installed as a package of its own."""
