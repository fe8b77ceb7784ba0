import pickle  # expect: security


def load(blob):
    return pickle.loads(blob)  # expect: security
