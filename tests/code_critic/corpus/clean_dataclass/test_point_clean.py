from point_clean import Point


def test_distance():
    assert Point(0, 0).distance(Point(3, 4)) == 5
