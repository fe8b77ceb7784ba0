def average(values):
    l = len(values)  # expect: style
    return sum(values) / l
