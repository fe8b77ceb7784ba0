from discount_ft import price


def test_member():
    assert price(100, True) == 80


def test_small():
    assert price(50, False) == 50


def test_large():  # expect: tests
    assert price(200, False) == 190
