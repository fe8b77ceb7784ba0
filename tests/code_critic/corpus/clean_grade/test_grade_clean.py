from grade_clean import grade


def test_a():
    assert grade(95) == "A"


def test_b():
    assert grade(85) == "B"


def test_f():
    assert grade(10) == "F"
