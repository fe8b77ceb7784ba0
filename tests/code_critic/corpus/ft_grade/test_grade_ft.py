from grade_ft import grade


def test_a():
    assert grade(95) == "A"


def test_b():  # expect: tests
    assert grade(85) == "B"


def test_f():
    assert grade(10) == "F"
