import shutil


def git_path():
    return shutil.which("git")
