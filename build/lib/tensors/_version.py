"""The one version number of gpt-scenes (read by pyproject.toml, ``tensors.__version__``,
``scenes.__version__`` and ``gpt-scenes --version``)."""
__version__ = "0.2.0"
