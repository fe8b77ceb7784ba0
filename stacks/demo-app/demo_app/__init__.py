"""The labkit demo service: a small instrumented web app for the Docker and LGTM stages."""

__all__: list[str] = []
