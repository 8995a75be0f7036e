"""Generated data, not domain rules: `flask demo` (demo.py: the real episode list and a
small sample community, written through the services) and `flask bench-data` (bench.py:
a deterministic synthetic community, bulk-inserted). Above the services layer: seed
modules use services and read the app's config; no service imports them."""
