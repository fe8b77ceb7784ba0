def compute(expression):
    return eval(expression)  # expect: security
