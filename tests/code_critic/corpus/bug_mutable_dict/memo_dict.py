def remember(key, value, memo={}):  # expect: bug
    memo[key] = value
    return memo
