def shipping(weight, country):
    if country == "NO":
        cost = 50
    else:
        cost = 120
    if weight > 20:
        cost += 10  # expect: bug fault
    return cost
