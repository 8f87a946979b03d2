def pick(numbers):
    # EVOLVE-BLOCK-START
    return max(range(len(numbers)), key=numbers.__getitem__)
    # EVOLVE-BLOCK-END
