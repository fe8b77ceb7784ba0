"""Register the labkit-runc runtime as dockerd's default in /etc/docker/daemon.json.

Keeps every other key; writes atomically; prints "changed" only when the file changed
(so .ci/docker.sh knows whether the engine must reload). Usage: daemon_json.py WRAPPER_PATH
"""

import json
import os
import sys

PATH = "/etc/docker/daemon.json"


def main() -> None:
    try:
        with open(PATH, encoding="utf-8") as fh:
            conf = json.load(fh)
    except FileNotFoundError:
        conf = {}
    before = json.dumps(conf, sort_keys=True)
    conf.setdefault("runtimes", {})["labkit-runc"] = {"path": sys.argv[1]}
    conf["default-runtime"] = "labkit-runc"
    if json.dumps(conf, sort_keys=True) == before:
        return
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    with open(PATH + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(conf, fh, indent=2)
    os.replace(PATH + ".tmp", PATH)
    print("changed")


if __name__ == "__main__":
    main()
