import pytest
from stack_clean import Stack


def test_push_pop():
    stack = Stack()
    stack.push(1)
    stack.push(2)
    assert stack.pop() == 2
    assert len(stack) == 1


def test_empty():
    with pytest.raises(IndexError):
        Stack().pop()
