"""The fourteen built-in domain plugins. Each is a package ``sublarr.plugins.<name>`` holding
its models, its migrations, its repository and its package-level functions."""
