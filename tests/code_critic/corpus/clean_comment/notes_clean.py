# The reviewer asked us to keep this function short; it only trims whitespace.
def tidy(text):
    return " ".join(text.split())
