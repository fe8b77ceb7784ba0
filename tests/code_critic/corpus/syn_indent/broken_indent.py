def ok():
    return 1


def bad():
return 2  # expect: bug
