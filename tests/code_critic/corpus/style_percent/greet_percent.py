def greet(name):
    return "Hello, %s!" % name  # expect: style
