"""The kernel proper: settings, plugin manager, migrations, the Kernel object."""
