from sqlalchemy import func, select

from community.extensions import db
from community.models import Episode, Post, User
from community.services import accounts


def test_demo_loads_the_real_episodes_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "episodes: 15 new" in first.output
    second = runner.invoke(args=["demo"])
    assert "episodes: 0 new, users: 0 new, comments: 0 new" in second.output
    assert db.session.scalar(select(func.count(Episode.id))) == 15

    data = client.get("/api/v1/episodes?page=1").get_json()
    everything = data["episodes"]
    assert len(everything) == 15
    by_number = {e["number"]: e for e in everything}
    assert by_number[13]["guests"] == [{"name": "Jonathan Frankle", "affiliation": "MIT (PhD student)"}]
    assert by_number[1]["guests"] == [{"name": "Kelvin Guu", "affiliation": "Google AI (senior research scientist)"}]
    assert by_number[0]["guests"] == []
    listing = client.get("/episodes/").get_data(as_text=True)
    assert "Jonathan Frankle" in listing and "MIT (PhD student)" in listing
    # The sample community: accounts that can log in, and a discussion with math.
    assert accounts.authenticate("ada_l", "generally-intelligent-demo").username == "ada_l"
    assert db.session.scalar(select(func.count(Post.id))) > 20
    assert db.session.scalar(select(func.count(Post.id)).where(Post.body_html.contains("<math"))) > 0


def test_markup_rebake_rerenders_from_source(app, factories):
    post = factories.comment(factories.user("ada"), factories.episode(1), body="$x$")
    post.body_html = "<p>stale</p>"
    user = db.session.scalar(select(User))
    user.bio_source, user.bio_html = "*bio*", "stale"
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["markup", "rebake"])
    assert result.exit_code == 0 and "re-rendered 1 posts" in result.output
    db.session.expire_all()
    assert "<math" in db.session.get(Post, post.id).body_html
    assert db.session.get(User, user.id).bio_html == "<p><em>bio</em></p>"
