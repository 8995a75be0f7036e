"""One Blueprint per domain. Views are thin: validate, call one service, commit once, redirect."""
