def pick(numbers):
    # EVOLVE-BLOCK-START
    return 0
    # EVOLVE-BLOCK-END
