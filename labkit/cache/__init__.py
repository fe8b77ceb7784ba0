"""labkit.cache: semantic caching of LLM calls, and the proof of what it saves.

(Placeholder of the cost branch: the package's public surface comes with the cache itself.)
"""
