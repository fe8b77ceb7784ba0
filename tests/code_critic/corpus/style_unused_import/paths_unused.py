import os  # expect: style
import sys


def argv_count():
    return len(sys.argv)
