DATABASE_HOST = "db.internal"
DATABASE_PASSWORD = "hunter2"  # expect: security
