def report(rows):
    header = "name,total"  # expect: style
    return len(rows)
