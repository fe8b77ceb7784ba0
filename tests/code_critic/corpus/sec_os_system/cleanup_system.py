import os


def remove(path):
    os.system("rm -rf " + path)  # expect: security
