def area(width, height):
    return width * height


def area(radius):  # expect: bug
    return 3.14159 * radius * radius
