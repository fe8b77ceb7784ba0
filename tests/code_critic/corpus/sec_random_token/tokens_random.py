import random


def reset_token():
    return "".join(random.choice("abcdef0123456789") for _ in range(32))  # expect: security
