from sign_ft import sign


def test_positive():
    assert sign(4) == 1


def test_zero():
    assert sign(0) == 0


def test_negative():  # expect: tests
    assert sign(-4) == -1
