from absval_ft import absolute


def test_positive():
    assert absolute(3) == 3


def test_zero():
    assert absolute(0) == 0


def test_negative():  # expect: tests
    assert absolute(-3) == 3
