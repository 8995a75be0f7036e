"""The ceiling of the stack: the smallest Flask app, served by the same gunicorn settings
as the real one. Every other row of bench/results.md is compared with it."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, world!"
