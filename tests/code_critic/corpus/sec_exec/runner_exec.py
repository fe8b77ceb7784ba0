def run_snippet(source):
    namespace = {}
    exec(source, namespace)  # expect: security
    return namespace
