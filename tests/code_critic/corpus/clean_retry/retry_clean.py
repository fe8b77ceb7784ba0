import time


def retry(func, attempts=3, delay=0.01):
    last_error = None
    for _ in range(attempts):
        try:
            return func()
        except OSError as exc:
            last_error = exc
            time.sleep(delay)
    raise RuntimeError("all attempts failed") from last_error
