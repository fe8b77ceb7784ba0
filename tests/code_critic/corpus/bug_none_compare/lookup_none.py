def describe(value):
    if value == None:  # expect: bug
        return "missing"
    return str(value)
