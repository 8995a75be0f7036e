"""Episode list, episode page, home page and the episodes JSON API."""

from __future__ import annotations

from tests.conftest import text_of


def test_episode_list_newest_first_with_guests(client, factories):
    factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    factories.episode(2, "Sarah Jane Hong on neural rendering", guests=[("Sarah Jane Hong", "Latent Space")])
    page = text_of(client.get("/episodes/"))
    assert page.index("Sarah Jane Hong on neural rendering") < page.index("Kelvin Guu on retrieval")
    assert "Kelvin Guu (Google AI)" in page


def test_episode_list_paginates(app, client, factories):
    app.config["EPISODES_PER_PAGE"] = 2
    for n in range(5):
        factories.episode(n)
    first = client.get("/episodes/").get_data(as_text=True)
    assert "Page 1 of 3" in first and 'rel="next"' in first
    assert "Page 3 of 3" in client.get("/episodes/?page=3").get_data(as_text=True)


def test_episode_page_shows_people_player_notes_and_meta(client, factories):
    episode = factories.episode(
        12, "Jacob Steinhardt on robustness", guests=[("Jacob Steinhardt", "UC Berkeley")], hosts=["Kanjun Qiu"],
        summary="Distribution shift and forecasting.", audio_url="https://cdn.example.org/ep12.mp3",
        duration_seconds=3725, show_notes_html='<p>At <a class="seek" href="?t=754#player">12:34</a> we talk.</p>')
    response = client.get(f"/episodes/{episode.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Jacob Steinhardt" in html and "UC Berkeley" in html and "Kanjun Qiu" in html
    assert '<audio controls preload="none" src="https://cdn.example.org/ep12.mp3"' in html
    assert "1:02:05" in html
    assert '<meta property="og:title" content="#12 Jacob Steinhardt on robustness">' in html
    assert '<meta name="description" content="Distribution shift and forecasting.">' in html
    assert "<title>#12 Jacob Steinhardt on robustness · GI Community</title>" in html


def test_t_parameter_starts_the_player_there_without_javascript(client, factories):
    episode = factories.episode(3, audio_url="https://cdn.example.org/ep3.mp3")
    for t in ("754", "12:34"):
        html = client.get(f"/episodes/{episode.slug}?t={t}").get_data(as_text=True)
        assert 'src="https://cdn.example.org/ep3.mp3#t=754"' in html


def test_unknown_episode_is_404(client):
    assert client.get("/episodes/nope").status_code == 404


def test_home_shows_latest_episodes(client, factories):
    factories.episode(7, "Yujia Huang on feedback networks")
    assert "Yujia Huang on feedback networks" in text_of(client.get("/"))


def test_query_count_does_not_grow_with_episodes_or_guests(client, factories, count_queries):
    def measure():
        with count_queries() as listing:
            assert client.get("/episodes/").status_code == 200
        with count_queries() as home:
            assert client.get("/").status_code == 200
        with count_queries() as page:
            assert client.get(f"/episodes/{last.slug}").status_code == 200
        return listing.count, home.count, page.count

    last = factories.episode(1, guests=[("A One", "X")])
    small = measure()
    for n in range(2, 15):
        last = factories.episode(n, guests=[(f"Guest {n}", "Lab"), (f"Other {n}", "Lab")], hosts=["Host A", "Host B"])
    assert measure() == small


def test_api_lists_episodes_with_next_link(app, client, factories):
    app.config["EPISODES_PER_PAGE"] = 2
    for n in range(3):
        factories.episode(n, guests=[(f"Guest {n}", f"Lab {n}")], audio_url=f"https://cdn.example.org/{n}.mp3",
                          duration_seconds=60 * n)
    response = client.get("/api/v1/episodes")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    first = data["episodes"][0]
    assert set(first) == {"slug", "number", "title", "published_at", "duration_seconds", "audio_url", "url", "guests"}
    assert first["number"] == 2 and first["guests"] == [{"name": "Guest 2", "affiliation": "Lab 2"}]
    assert first["published_at"].startswith("2021-01-03T00:00:00")
    assert data["next"].endswith("/api/v1/episodes?page=2")
    last = client.get(data["next"]).get_json()
    assert [e["number"] for e in last["episodes"]] == [0] and last["next"] is None


def test_api_episode_detail_and_json_404(client, factories):
    episode = factories.episode(4, summary="Open-endedness.", show_notes_html="<p>notes</p>")
    data = client.get(f"/api/v1/episodes/{episode.slug}").get_json()
    assert data["summary"] == "Open-endedness." and data["show_notes_html"] == "<p>notes</p>"
    missing = client.get("/api/v1/episodes/nope")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404


def test_episode_list_shows_comment_counts(client, factories):
    episode = factories.episode(5, "Katja Schwarz on GRAF")
    ada = factories.user("ada")
    top = factories.comment(ada, episode)
    factories.comment(ada, parent=top)
    assert "2 comments" in client.get("/episodes/").get_data(as_text=True)
