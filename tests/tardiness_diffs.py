"""Scripted model replies for the tardiness seed, shared by the LLM tests."""

GOOD_DIFF = """Use ATC's usual look-ahead and drop the due-date term.
<<<<<<< SEARCH
    look_ahead = 8.0
    ratio_weight = 1.0
    due_weight = 0.1
=======
    look_ahead = 2.0
    ratio_weight = 1.0
    due_weight = 0.0
>>>>>>> REPLACE
"""
SECOND_DIFF = """Weigh the cost ratio a little more.
<<<<<<< SEARCH
    ratio_weight = 1.0
=======
    ratio_weight = 1.2
>>>>>>> REPLACE
"""
MISSING_DIFF = GOOD_DIFF.replace("look_ahead = 8.0", "look_ahead = 7.0")
OUTSIDE_DIFF = "Start earlier.\n<<<<<<< SEARCH\n    t = 0\n=======\n    t = 1\n>>>>>>> REPLACE\n"
