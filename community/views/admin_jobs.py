"""/admin/jobs: what the job queue is doing, the jobs that failed and why, and "retry"."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user

from community.models import JobStatus
from community.policy import admin_required
from community.services import jobs
from community.views.helpers import press

bp = Blueprint("admin_jobs", __name__, url_prefix="/admin/jobs")


@bp.get("/")
@admin_required
def index():
    return render_template("admin/jobs.html", overview=jobs.overview(), statuses=list(JobStatus))


@bp.post("/<int:job_id>/retry")
@admin_required
def retry(job_id: int):
    return press(lambda: jobs.retry(current_user, job_id), f"Job {job_id} is queued again.",
                 url_for("admin_jobs.index"))
