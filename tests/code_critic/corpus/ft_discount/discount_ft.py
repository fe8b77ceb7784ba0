def price(total, member):
    if member:
        return total * 0.8
    if total > 100:
        return total - 100  # expect: bug fault
    return total
