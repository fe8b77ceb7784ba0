import subprocess  # expect: security


def deploy(branch):
    subprocess.run("git checkout " + branch, shell=True, check=True)  # expect: security
