def total(values:  # expect: bug
    return sum(values)
