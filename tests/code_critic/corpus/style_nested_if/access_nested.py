def can_edit(user, document):
    if user.active:  # expect: style
        if document.owner == user.name:
            return True
    return False
