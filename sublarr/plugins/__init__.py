"""The fourteen built-in domain plugins. Each is a package ``sublarr.plugins.<name>`` holding
its models, its migrations, its repository, its events, its maintenance and the legacy tables it
adopts, and its package-level functions."""

# (plugin name, module) in registration order, after the built-in drivers
# (``sublarr.core.plugins.BUILTIN_PLUGINS``): the kernel names no domain.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("config", "sublarr.plugins.config"),
    ("blacklist", "sublarr.plugins.blacklist"),
    ("providers", "sublarr.plugins.providers"),
    ("cache", "sublarr.plugins.cache"),
    ("plugin_config", "sublarr.plugins.plugin_config"),
    ("scoring", "sublarr.plugins.scoring"),
    ("library", "sublarr.plugins.library"),
    ("whisper", "sublarr.plugins.whisper"),
    ("translation", "sublarr.plugins.translation"),
    ("jobs", "sublarr.plugins.jobs"),
    ("wanted", "sublarr.plugins.wanted"),
    ("profiles", "sublarr.plugins.profiles"),
    ("hooks", "sublarr.plugins.hooks"),
    ("hooks-dispatch", "sublarr.plugins.hooks.dispatch"),
    ("standalone", "sublarr.plugins.standalone"),
)
