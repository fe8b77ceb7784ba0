import pytest
from inventory_clean import Inventory


def test_add_remove():
    inv = Inventory()
    inv.add("a", 3)
    inv.remove("a", 2)
    assert inv.count("a") == 1


def test_remove_too_many():
    inv = Inventory()
    with pytest.raises(ValueError):
        inv.remove("a", 1)
