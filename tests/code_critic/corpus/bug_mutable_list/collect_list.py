def collect(item, bucket=[]):  # expect: bug
    bucket.append(item)
    return bucket
