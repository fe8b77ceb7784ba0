def absolute(x):
    if x < 0:
        return x  # expect: bug fault
    return x
