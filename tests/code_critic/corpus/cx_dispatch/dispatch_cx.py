def classify(code, kind, urgent, region):  # expect: complexity
    if kind == "a":
        label = "alpha"
    elif kind == "b":
        label = "beta"
    elif kind == "c":
        label = "gamma"
    elif kind == "d":
        label = "delta"
    else:
        label = "other"
    if urgent and region == "eu":
        label += "-eu-urgent"
    elif urgent and region == "us":
        label += "-us-urgent"
    elif urgent:
        label += "-urgent"
    if code > 500:
        label += "-server"
    elif code > 400:
        label += "-client"
    elif code > 300:
        label += "-redirect"
    return label
