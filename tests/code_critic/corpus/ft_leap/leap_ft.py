def is_leap(year):
    if year % 400 == 0:
        return True
    if year % 100 == 0:
        return True  # expect: bug fault
    return year % 4 == 0
