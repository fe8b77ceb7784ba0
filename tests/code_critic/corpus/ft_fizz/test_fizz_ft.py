from fizz_ft import fizzbuzz


def test_15():
    assert fizzbuzz(15) == "FizzBuzz"


def test_3():
    assert fizzbuzz(9) == "Fizz"


def test_5():  # expect: tests
    assert fizzbuzz(10) == "Buzz"


def test_other():
    assert fizzbuzz(7) == "7"
