from leap_ft import is_leap


def test_2000():
    assert is_leap(2000)


def test_2024():
    assert is_leap(2024)


def test_2023():
    assert not is_leap(2023)


def test_1900():  # expect: tests
    assert not is_leap(1900)
