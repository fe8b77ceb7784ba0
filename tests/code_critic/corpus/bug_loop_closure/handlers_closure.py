def make_handlers(names):
    handlers = []
    for name in names:
        handlers.append(lambda: print(name))  # expect: bug
    return handlers
