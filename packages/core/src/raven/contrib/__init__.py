"""raven-python's ``raven.contrib.*`` import paths, kept for existing code.

Each framework's integration lives in its own package now (``raven_django``, ``raven_flask``,
``raven_celery``, ``raven_tornado``, ``raven_sanic``, ``raven_lambda``); the modules here
resolve their names to it lazily, so raven-core depends on none of them.
"""

__all__: list[str] = []
