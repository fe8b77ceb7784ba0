from shipping_ft import shipping


def test_light_home():
    assert shipping(1, "NO") == 50


def test_light_abroad():
    assert shipping(1, "SE") == 120


def test_heavy():  # expect: tests
    assert shipping(30, "NO") == 150
