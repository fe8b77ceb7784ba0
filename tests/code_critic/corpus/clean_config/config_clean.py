import json
import os


def load_config(path):
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    config["password"] = os.environ.get("APP_PASSWORD", "")
    return config
