"""A plug-in cloud, "acme", as a third-party package would ship one: a provider class that
states its facts (``is_cloud``, ``uri_schemes``, ...) and a ``pricing.py`` beside it."""
