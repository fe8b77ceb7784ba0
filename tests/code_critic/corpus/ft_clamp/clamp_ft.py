def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return low  # expect: bug fault
    return value
