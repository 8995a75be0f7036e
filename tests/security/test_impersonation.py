"""Impersonation (issue 16): look-alike usernames and display names are refused (Unicode
TR39 confusable skeletons, community/identity.py), invisible and direction-changing
characters are stripped from display names, role words cannot be worn as names, and staff
carry a badge that no name can fake, with the @username always beside a display name."""

from __future__ import annotations

import re
import unicodedata

import pytest
from sqlalchemy import func, select

from community import identity
from community.extensions import db
from community.models import Role, User
from community.services import DomainError, accounts
from tests.conftest import text_of

PASSPHRASE = "a long and unusual passphrase"


@pytest.fixture
def originals(factories):
    """The demo's accounts: a member, a moderator, a guest of the show."""
    return {
        "ada_l": factories.user("ada_l", display_name="Ada L."),
        "mod_marta": factories.user("mod_marta", role=Role.moderator, display_name="Marta M."),
        "kelvin": factories.user("kelvin", role=Role.guest, display_name="Kelvin Guu"),
    }


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def sign_up(app, username: str):
    return app.test_client().post("/auth/register", data={
        "username": username, "email": "newcomer@example.org", "password": PASSPHRASE, "confirm": PASSPHRASE})


# --------------------------------------------------------------------------- the skeleton itself


def test_every_mapping_of_confusables_txt_collides_with_its_prototype():
    """Unicode's data, line by line: a character and the prototype it is confused with have
    one key. Characters that NFD decomposes never occur in NFD text (the skeleton starts with
    NFD), so their lines are never used; every other line is checked."""
    table = identity.prototypes()
    assert len(table) == 6311  # "# total: 6311" in the file (Unicode 13.0.0)
    used = {point: target for point, target in table.items()
            if unicodedata.normalize("NFD", chr(point)) == chr(point)}
    assert len(used) == 5247
    mismatched = [hex(point) for point, target in used.items() if identity.name_key(chr(point)) != identity.name_key(target)]
    assert not mismatched
    # The TR39 skeleton proper, without case folding, agrees on all but 13 lines whose
    # prototype is not a skeleton itself (e.g. U+01C6 -> "dž", whose caron maps on to a breve);
    # name_key repeats the mapping until it is stable, which closes them.
    exact = sum(identity.skeleton(chr(point)) == identity.skeleton(target) for point, target in used.items())
    assert exact == 5247 - 13


@pytest.mark.parametrize("a, b", [
    ("ada_I", "ada_l"), ("ada_1", "ada_l"), ("ada_|", "ada_l"), ("mod_rnarta", "mod_marta"),
    ("m0d_marta", "mod_marta"), ("keIvin", "kelvin"), ("MOD_MARTA", "mod_marta"), ("mod-marta", "mod_marta"),
    ("\u0430da_l", "ada_l"),              # Cyrillic а
    ("\uff41\uff44\uff41\uff3f\uff4c", "ada_l"),  # fullwidth
    ("\U0001d41a\U0001d41d\U0001d41a_l", "ada_l"),  # mathematical bold
    ("K\u0435lvin Guu", "Kelvin Guu"),    # Cyrillic е
    ("Kelvin\u00a0 Guu", "kelvin_guu"),   # spacing and separators do not tell names apart
    ("\u039c\u03bfd Marta", "mod marta"),  # Greek Μ and ο
    ("ada\u200b_l", "ada_l"),             # invisible characters do not count
])
def test_look_alikes_have_one_key(a, b):
    assert identity.name_key(a) == identity.name_key(b)


@pytest.mark.parametrize("a, b", [("ada_l", "ada_i"), ("kelvin", "kelvyn"), ("mod_marta", "mod_martha"),
                                  ("tensor_tom", "tensor_tim"), ("Ada L.", "Ada K.")])
def test_different_names_have_different_keys(a, b):
    assert identity.name_key(a) != identity.name_key(b)


# --------------------------------------------------------------------------- usernames


@pytest.mark.parametrize("username, original", [
    ("ada_I", "ada_l"), ("mod_rnarta", "mod_marta"), ("keIvin", "kelvin"), ("m0d_marta", "mod_marta"),
    ("Ada_1", "ada_l"), ("mod-marta", "mod_marta"), ("kelvin_guu", "Kelvin Guu"), ("marta_m", "Marta M."),
])
def test_look_alike_usernames_are_refused_beside_their_originals(app, originals, username, original):
    before = user_count()
    response = sign_up(app, username)
    assert response.status_code == 422
    assert f"too close to an existing name: {original}" in text_of(response)
    assert user_count() == before


@pytest.mark.parametrize("username", ["\u0430da_l", "\uff41da_l", "ada\u200b_l", "\u217ederator"])
def test_non_ascii_look_alikes_are_refused_too(app, originals, username):
    before = user_count()
    response = sign_up(app, username)
    assert response.status_code == 422 and "3 to 30 letters, digits, _ or -." in text_of(response)
    assert user_count() == before


@pytest.mark.parametrize("username", ["moderator", "admin_team", "the_mods", "official_gi", "gi_team", "Staff",
                                      "MartaMod", "m0derator", "generally-intelligent"])
def test_usernames_cannot_be_role_words(app, originals, username):
    before = user_count()
    response = sign_up(app, username)
    assert response.status_code == 422 and "cannot contain" in text_of(response), text_of(response)[:300]
    assert user_count() == before


@pytest.mark.parametrize("username", ["grace_h", "ada_lovelace", "tensor_tom", "kelvinator", "modest_mouse",
                                      "team_rocket", "gil", "support_vectors"])
def test_ordinary_different_usernames_pass(app, originals, username):
    response = sign_up(app, username)
    assert response.status_code == 302, text_of(response)[:500]
    user = db.session.scalar(select(User).where(User.username == username))
    assert user.username_skeleton == identity.name_key(username) and user.display_name_skeleton == ""


def test_operators_may_give_staff_accounts_role_names(app, originals):
    user = accounts.register("mod_jane", "jane@example.org", PASSPHRASE, role=Role.moderator)
    assert user.username_skeleton == identity.name_key("mod_jane")
    with pytest.raises(DomainError, match="cannot contain"):
        accounts.register("mod_john", "john@example.org", PASSPHRASE)
    with pytest.raises(DomainError, match="too close to an existing name: mod_marta"):
        accounts.register("m0d_marta", "m@example.org", PASSPHRASE, role=Role.moderator)


# --------------------------------------------------------------------------- display names


def save_display_name(browser, name: str):
    return browser.post("/settings/profile", data={"display_name": name, "affiliation": "", "bio": "", "links": ""})


@pytest.fixture
def ada(app, originals, login):
    return login(originals["ada_l"], the_client=app.test_client())


def stored_display_name(username: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(User.display_name).where(User.username == username))


def test_invisible_and_bidi_characters_are_stripped_from_display_names(app, ada):
    typed = ("\u202eAda\u200b \u2066Love\u200dlace\u2069\ufeff\u200e\u00ad\u034f\u2060\u180e"
             "\u061c\U000e0041\ufe0f\u3164\u2800\u00a0\u2003Byron\u2028")
    response = save_display_name(ada, typed)
    assert response.status_code == 302, text_of(response)[:500]
    assert stored_display_name("ada_l") == "Ada Lovelace Byron"
    user = db.session.scalar(select(User).where(User.username == "ada_l"))
    assert user.display_name_skeleton == identity.name_key("Ada Lovelace Byron")
    page = app.test_client().get("/u/ada_l").get_data(as_text=True)
    assert "Ada Lovelace Byron" in page and "\u202e" not in page and "\u200b" not in page


def test_display_names_are_nfc(app, ada):
    assert save_display_name(ada, "Ade\u0300le").status_code == 302
    assert stored_display_name("ada_l") == "Ad\u00e8le"


@pytest.mark.parametrize("name, original", [
    ("mod_marta", "mod_marta"),             # another account's username
    ("m0d_rnarta", "mod_marta"),
    ("kelvin", "kelvin"),
    ("Kelvin Guu", "Kelvin Guu"),           # another account's display name
    ("K\u0435lvin Guu", "Kelvin Guu"),      # Cyrillic е
    ("\uff2b\uff45\uff4c\uff56\uff49\uff4e \uff27\uff55\uff55", "Kelvin Guu"),  # fullwidth
    ("Kel\u200bvin\u202e Guu", "Kelvin Guu"),
    ("Marta M.", "Marta M."),
    ("MARTA_M", "Marta M."),
])
def test_display_names_that_pass_for_another_account_are_refused(app, ada, name, original):
    response = save_display_name(ada, name)
    assert response.status_code == 422
    assert f"too close to an existing name: {original}" in text_of(response)
    assert stored_display_name("ada_l") == "Ada L."  # nothing saved


@pytest.mark.parametrize("name", ["Moderator", "Moderator Marta", "Marta (mod)", "ModMaria", "Admin", "Site Admins",
                                  "administrator", "Staff", "GI", "GI Team", "Generally Intelligent",
                                  "Generally Intelligent fan", "Official Host", "\u041cod Maria", "M0DERAT0R",
                                  "Guest", "Support Team", "m\u200bo\u200bd"])
def test_display_names_cannot_hold_role_words(app, ada, name):
    response = save_display_name(ada, name)
    assert response.status_code == 422, name
    assert "cannot contain" in text_of(response)
    assert stored_display_name("ada_l") == "Ada L."


@pytest.mark.parametrize("name", ["Ada L.", "ada_l", "Ada_L", "ADA L", "Ada Lovelace", "Team Rocket fan",
                                  "Support Vector Ada", "Gil", "Modesty Blaise", "Kelvin Gu", "", "Ghost of Ada"])
def test_ordinary_and_own_names_pass(app, ada, name):
    response = save_display_name(ada, name)
    assert response.status_code == 302, (name, text_of(response)[:400])
    assert stored_display_name("ada_l") == name


def test_a_display_name_blocks_a_look_alike_username_later(app, ada):
    assert save_display_name(ada, "Grace Hopper").status_code == 302
    response = sign_up(app, "gracehopper")
    assert response.status_code == 422 and "too close to an existing name: Grace Hopper" in text_of(response)


def test_the_service_refuses_too_whatever_the_form_says(app, originals):
    ada = originals["ada_l"]
    with pytest.raises(DomainError, match="too close to an existing name: kelvin"):
        accounts.update_profile(ada, display_name="KeIvin", affiliation="", bio="", links=[])
    with pytest.raises(DomainError, match="cannot contain"):
        accounts.update_profile(ada, display_name="Official GI", affiliation="", bio="", links=[])
    db.session.rollback()
    assert stored_display_name("ada_l") == "Ada L."


# --------------------------------------------------------------------------- how names are shown


def meta_line(html: str, post_id: int) -> str:
    """The comment's meta line (name, badges, score, time) on a thread page."""
    start = html.index(f'id="c{post_id}"')
    meta = html.index('<p class="comment-meta">', start)
    return html[meta:html.index("</p>", meta)]


@pytest.fixture
def thread(factories, originals):
    episode = factories.episode(1, "Kelvin Guu on retrieval")
    impostor = factories.user("fake_marta", display_name="Moderator Marta")  # written past the rules, as old data might be
    admin = factories.user("root_rui", role=Role.admin, display_name="Rui R.")
    posts = {
        "moderator": factories.comment(originals["mod_marta"], episode, body="Please keep it kind."),
        "impostor": factories.comment(impostor, episode, body="I am a moderator, trust me."),
        "admin": factories.comment(admin, episode, body="Maintenance tonight."),
        "member": factories.comment(originals["ada_l"], episode, body="Retrieval beats memorisation."),
    }
    return {"episode": episode, "posts": posts}


def test_staff_badges_show_on_comments_and_a_lookalike_name_gets_none(app, client, thread, login, originals):
    posts = thread["posts"]
    for browser in (client, login(originals["kelvin"], the_client=app.test_client())):  # anonymous and logged in
        html = browser.get(f"/episodes/{thread['episode'].slug}").get_data(as_text=True)
        moderator, impostor = meta_line(html, posts["moderator"].id), meta_line(html, posts["impostor"].id)
        assert '<span class="badge badge-moderator">Moderator</span>' in moderator
        assert "<small>@mod_marta</small>" in moderator
        assert "badge" not in impostor
        assert "Moderator Marta <small>@fake_marta</small>" in impostor
        assert '<span class="badge badge-admin">Admin</span>' in meta_line(html, posts["admin"].id)
        assert "badge" not in meta_line(html, posts["member"].id)
        assert "Ada L. <small>@ada_l</small>" in meta_line(html, posts["member"].id)


def test_staff_badges_and_usernames_show_on_profiles_and_permalinks(app, client, thread):
    moderator = client.get("/u/mod_marta").get_data(as_text=True)
    assert re.search(r"<h1>Marta M\. <span class=\"badge badge-moderator\">Moderator</span></h1>", moderator)
    assert "@mod_marta" in text_of(client.get("/u/mod_marta"))
    impostor = client.get("/u/fake_marta").get_data(as_text=True)
    assert "badge-moderator" not in impostor and "@fake_marta" in impostor
    # A permalink shows its ancestors through the Jinja macro (not the thread renderer).
    reply = thread["posts"]["impostor"]
    from community.services import discussion

    child = discussion.create_post(reply.author, episode=None, body="Replying to myself.", parent=thread["posts"]["moderator"])
    db.session.commit()
    page = client.get(f"/posts/{child.id}").get_data(as_text=True)
    context = page[page.index('ancestors"'):page.index('class="discussion"')]
    assert re.search(r'Marta M\.\s*<small>@mod_marta</small></a> <span class="badge badge-moderator">Moderator</span>', context)


def test_a_name_without_a_display_name_shows_once(app, client, factories):
    episode = factories.episode(1, "Kelvin Guu on retrieval")
    plain = factories.user("plain_pat")
    post = factories.comment(plain, episode, body="No display name here.")
    line = meta_line(client.get(f"/episodes/{episode.slug}").get_data(as_text=True), post.id)
    assert ">plain_pat</a>" in line and "<small>" not in line
