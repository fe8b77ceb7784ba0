def parse_int(text):
    try:
        return int(text)
    except:  # expect: bug
        return 0
