def find_user(cursor, name):
    query = "SELECT * FROM users WHERE name = '%s'" % name  # expect: security style
    cursor.execute(query)
    return cursor.fetchone()
