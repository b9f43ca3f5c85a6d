"""The ``gvae`` command line."""
