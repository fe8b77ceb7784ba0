def enabled(flag):
    if flag == True:  # expect: bug
        return "on"
    return "off"
