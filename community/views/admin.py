"""The operator console: episodes, people and who was on each episode (the show's team:
hosts and admins), users, site settings and the admin log (admins). Every change is one
service call that writes one admin-log row; every page works without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from community.extensions import db
from community.forms import ActionForm
from community.forms.admin import (
    AppearancesForm, EpisodeForm, LinkUserForm, MergeForm, PersonForm, RoleForm, SettingForm, SuspensionForm, lines,
)
from community.models import Episode, Role, User
from community.policy import admin_required, show_required
from community.services import DomainError, accounts, admin_log, discussion, episodes, moderation, people, sessions
from community.services import site_settings
from community.views.console import console_sections
from community.views.helpers import form_error, press

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Every console page's nav, whichever blueprint serves it (views/console.py: one list).
bp.add_app_template_global(console_sections)


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _episode(episode_id: int) -> Episode:
    return episodes.get_by_id(episode_id) or abort(404)


def _submit(form, save, page, done, back, refused_at=None):
    """The console's one form shape: a valid form is saved through its service (one admin-log
    row), committed and `done(row)` said on the way to `back(row)`; anything else shows
    `page(status)` again with what was typed, a service's refusal beside `refused_at` (the
    field it concerns, else the form). A GET shows the page as it is (200)."""
    if form.validate_on_submit():
        try:
            row = save()
        except DomainError as error:
            return page(form_error(form if refused_at is None else refused_at, error))
        db.session.commit()
        flash(done(row), "success")
        return redirect(back(row))
    return page(422 if request.method == "POST" else 200)


def _button() -> None:
    """A console button: nothing but its CSRF token (the CSRF guard answers 400 before this)."""
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.get("/")
@show_required
def dashboard():
    return render_template("admin/dashboard.html")


# ---------------------------------------------------------------- episodes

@bp.get("/episodes/", endpoint="episodes")
@show_required
def episodes_list():
    return render_template("admin/episodes.html", page=episodes.admin_list(_page()), button=ActionForm())


@bp.route("/episodes/new", methods=["GET", "POST"])
@show_required
def new_episode():
    form = EpisodeForm()
    return _submit(form, lambda: episodes.save(current_user, None, **form.values()),
                   lambda status: (render_template("admin/episode_form.html", form=form, episode=None), status),
                   lambda episode: f"Episode created, unpublished until you publish it: {episode.title}",
                   _episode_url)


@bp.route("/episodes/<int:episode_id>", methods=["GET", "POST"])
@show_required
def edit_episode(episode_id: int):
    episode = _episode(episode_id)
    form = EpisodeForm()
    if request.method == "GET":
        form.fill(episode)
    return _submit(form, lambda: episodes.save(current_user, episode, **form.values()),
                   lambda status: _episode_page(episode, form, status=status), lambda _: "Episode saved.",
                   lambda _: _episode_url(episode))


def _episode_url(episode: Episode, anchor: str | None = None) -> str:
    return url_for("admin.edit_episode", episode_id=episode.id, _anchor=anchor)


def _episode_page(episode: Episode, form: EpisodeForm | None = None, people_form: AppearancesForm | None = None,
                  status: int = 200):
    if form is None:
        form = EpisodeForm(formdata=None)
        form.fill(episode)
    if people_form is None:
        people_form = AppearancesForm(formdata=None)
        people_form.fill(episode)
    return render_template("admin/episode_form.html", form=form, people_form=people_form, episode=episode,
                           button=ActionForm()), status


@bp.post("/episodes/<int:episode_id>/people")
@show_required
def set_episode_people(episode_id: int):
    episode = _episode(episode_id)
    form = AppearancesForm()
    return _submit(form, lambda: episodes.set_appearances(current_user, episode, lines(form.guests.data),
                                                          lines(form.hosts.data), lines(form.cohosts.data)),
                   lambda status: _episode_page(episode, people_form=form, status=status),
                   lambda _: "Saved who was on the episode.", lambda _: _episode_url(episode, "people"))


@bp.post("/episodes/<int:episode_id>/publish")
@show_required
def publish_episode(episode_id: int):
    episode = _episode(episode_id)
    _button()
    return press(lambda: episodes.set_published(current_user, episode, True), "Published: everyone sees it now.",
                 url_for("admin.edit_episode", episode_id=episode.id))


@bp.post("/episodes/<int:episode_id>/unpublish")
@show_required
def unpublish_episode(episode_id: int):
    episode = _episode(episode_id)
    _button()
    return press(lambda: episodes.set_published(current_user, episode, False),
                 "Unpublished: only the show's team sees it now.", url_for("admin.edit_episode", episode_id=episode.id))


# ---------------------------------------------------------------- people

@bp.get("/people/", endpoint="people")
@show_required
def people_list():
    q = request.args.get("q", "")[:200]
    rows, total = people.listing(q, _page())
    return render_template("admin/people.html", rows=rows, total=total, q=q, page=_page())


@bp.route("/people/new", methods=["GET", "POST"])
@show_required
def new_person():
    form = PersonForm()
    return _submit(form, lambda: people.save(current_user, None, **form.values()),
                   lambda status: (render_template("admin/person.html", form=form, person=None), status),
                   lambda person: f"Added {person.name}.", _person_url)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@show_required
def edit_person(person_id: int):
    person = people.get(person_id)
    form = PersonForm()
    if request.method == "GET":
        form.fill(person)
    return _submit(form, lambda: people.save(current_user, person, **form.values()),
                   lambda status: _person_page(person, form=form, status=status), lambda _: "Saved.",
                   lambda _: _person_url(person))


def _person_url(person) -> str:
    return url_for("admin.edit_person", person_id=person.id)


def _person_page(person, form=None, merge_form=None, link_form=None, status: int = 200):
    if form is None:
        form = PersonForm(formdata=None)
        form.fill(person)
    linked = db.session.get(User, person.user_id) if person.user_id else None
    return render_template("admin/person.html", person=person, form=form, linked=linked,
                           episodes=people.episodes_of(person), merge_form=merge_form or MergeForm(formdata=None),
                           link_form=link_form or LinkUserForm(formdata=None), button=ActionForm()), status


@bp.post("/people/<int:person_id>/merge")
@show_required
def merge_person(person_id: int):
    person = people.get(person_id)
    form = MergeForm()
    return _submit(form, lambda: people.merge_by_number(current_user, person, form.other.data),
                   lambda status: _person_page(person, merge_form=form, status=status),
                   lambda _: f"Merged person {form.other.data} into {person.name}.", lambda _: _person_url(person),
                   refused_at=form.other)


@bp.post("/people/<int:person_id>/link")
@show_required
def link_person(person_id: int):
    person = people.get(person_id)
    form = LinkUserForm()

    def link():
        user = accounts.find_by_username(form.username.data.strip().lstrip("@"))
        if user is None:
            raise DomainError(f"There is no account called {form.username.data}.")
        people.link_user(current_user, person, user)
        return user

    return _submit(form, link, lambda status: _person_page(person, link_form=form, status=status),
                   lambda user: f"{person.name} is now @{user.username}: they answer their episodes' questions "
                                "with the Guest badge.",
                   lambda _: _person_url(person), refused_at=form.username)


@bp.post("/people/<int:person_id>/unlink")
@show_required
def unlink_person(person_id: int):
    person = people.get(person_id)
    _button()
    return press(lambda: people.unlink_user(current_user, person), "Unlinked: the account stays as it is.",
                 url_for("admin.edit_person", person_id=person.id))


# ---------------------------------------------------------------- users (admins)

@bp.get("/users/")
@admin_required
def users():
    q = request.args.get("q", "")[:200]
    return render_template("admin/users.html", page=accounts.search_users(q, _page()), q=q)


@bp.get("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    return _user_page(db.get_or_404(User, user_id))


def _user_page(account: User, role_form=None, suspension_form=None, status: int = 200):
    role_form = role_form or RoleForm(formdata=None, role=account.role.value)
    return render_template("admin/user.html", account=account, role_form=role_form,
                           suspension_form=suspension_form or SuspensionForm(formdata=None),
                           sessions=sessions.sessions_of(account), posts=discussion.latest_by_author(account, 20),
                           person=people.of_user(account)), status


@bp.post("/users/<int:user_id>/role")
@admin_required
def set_role(user_id: int):
    account = db.get_or_404(User, user_id)
    form = RoleForm()
    return _submit(form, lambda: accounts.set_role(current_user, account, Role(form.role.data)),
                   lambda status: _user_page(account, role_form=form, status=status),
                   lambda _: f"@{account.username} is now {form.role.data}.",
                   lambda _: url_for("admin.user", user_id=account.id), refused_at=form.role)


@bp.post("/users/<int:user_id>/suspension")
@admin_required
def suspension(user_id: int):
    account = db.get_or_404(User, user_id)
    form = SuspensionForm()
    return _submit(form, lambda: moderation.suspend_user(current_user, account, form.action.data, form.reason.data,
                                                         form.days.data),
                   lambda status: _user_page(account, suspension_form=form, status=status),
                   lambda record: f"Done: {moderation.ACTIONS[record.action]} @{account.username}. "
                                  "The public moderation log says so.",
                   lambda _: url_for("admin.user", user_id=account.id))


# ---------------------------------------------------------------- site settings and the log (admins)

@bp.get("/settings")
@admin_required
def settings():
    return _settings_page()


def _settings_page(failed: SettingForm | None = None, failed_name: str | None = None, status: int = 200):
    rows = []
    for setting, value, changed in site_settings.current():
        form = failed if setting.name == failed_name else SettingForm(formdata=None, prefix=setting.name, value=value)
        form.value.label.text = setting.label  # each field says which setting it is
        form.value.description = setting.help + (" (Changed from the default.)" if changed else "")
        rows.append((setting, form))
    return render_template("admin/settings.html", rows=rows), status


@bp.post("/settings/<name>")
@admin_required
def change_setting(name: str):
    if name not in site_settings.BY_NAME:
        abort(404)
    form = SettingForm(prefix=name)
    if form.validate_on_submit():
        try:
            changed = site_settings.change(current_user, name, form.value.data)
        except DomainError as error:
            return _settings_page(form, name, status=form_error(form.value, error))
        db.session.commit()
        label = site_settings.BY_NAME[name].label
        flash(f"{label}: saved." if changed else f"{label}: that is the value already.", "success" if changed else "info")
        return redirect(url_for("admin.settings") + f"#setting-{name}")
    return _settings_page(form, name, status=422)


@bp.get("/log")
@admin_required
def log():
    target_type = request.args.get("target_type", "")[:30] or None
    target_id = request.args.get("target_id", "")[:100] or None
    return render_template("admin/log.html", page=admin_log.page(_page(), target_type, target_id),
                           target_type=target_type, target_id=target_id)
