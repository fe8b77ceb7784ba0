from functools import partial


def make_handlers(names):
    return [partial(print, name) for name in names]
