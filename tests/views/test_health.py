from sqlalchemy.exc import OperationalError

from community.extensions import db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path):
    from tests.conftest import make_test_app

    app = make_test_app("sqlite", tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "error"


def test_pages_answer_503_with_a_friendly_page_when_database_is_down(tmp_path):
    from tests.conftest import make_test_app

    app = make_test_app("sqlite", tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")

    @app.get("/needs-db")
    def needs_db():
        db.session.execute(db.text("SELECT 1"))
        return "never"

    response = app.test_client().get("/needs-db")
    assert response.status_code == 503
    assert "database cannot be reached" in response.get_data(as_text=True)
    assert OperationalError


def test_error_pages_use_the_layout(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.get_data(as_text=True)
    assert "GI Community" in response.get_data(as_text=True)
