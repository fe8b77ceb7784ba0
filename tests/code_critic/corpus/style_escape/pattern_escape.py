import re


def digits(text):
    return re.findall("\d+", text)  # expect: style
