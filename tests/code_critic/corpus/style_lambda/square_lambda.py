square = lambda x: x * x  # expect: style
