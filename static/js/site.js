// Progressive enhancement only: every page works without this file.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // --- The episode player: ?t=, #t=mm:ss and seek links move it without a reload.
  function seconds(text) {
    if (!text) return null;
    if (/^\d+$/.test(text)) return parseInt(text, 10);
    const parts = text.split(":").map(Number);
    if (parts.some(isNaN)) return null;
    return parts.reduce((total, part) => total * 60 + part, 0);
  }
  function seek(to, play) {
    const audio = $("#player audio");
    if (!audio || to == null) return false;
    const go = () => { audio.currentTime = to; if (play) audio.play().catch(() => {}); };
    if (audio.readyState >= 1) go();
    else { audio.preload = "metadata"; audio.addEventListener("loadedmetadata", go, { once: true }); audio.load(); }
    return true;
  }
  const hashT = /#t=([\d:]+)/.exec(location.hash);
  if (hashT) seek(seconds(hashT[1]), false);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.seek");
    if (!link || !$("#player audio")) return;
    const t = new URL(link.href, location.href).searchParams.get("t");
    if (seek(seconds(t), true)) {
      event.preventDefault();
      $("#player").scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  });

  function say(form, message) {
    let note = $(".form-note", form.parentNode);
    if (!note) {
      note = document.createElement("span");
      note.className = "form-note error";
      note.setAttribute("role", "alert");
      form.after(note);
    }
    note.textContent = message;
  }

  // --- Votes without a reload (the form still works on its own).
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList.contains("vote-form")) return;
    event.preventDefault();
    const button = $("button", form);
    button.disabled = true;
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new FormData(form), headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) { say(form, data.error || "That did not work."); return; }
      $("input[name=up]", form).value = data.voted ? "0" : "1";
      button.setAttribute("aria-pressed", data.voted ? "true" : "false");
      button.textContent = data.voted ? (button.dataset.on || "▲ Upvoted") : (button.dataset.off || "▲ Upvote");
      $$(`[data-score="${data.post}"]`).forEach((el) => {
        const unit = el.dataset.unit || "point";
        el.textContent = `${data.score} ${unit}${data.score === 1 ? "" : "s"}`;
      });
    } catch (error) {
      form.submit();
    } finally {
      button.disabled = false;
    }
  });

  // --- Moderation queue: an action updates its row in place.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList.contains("act-form")) return;
    event.preventDefault();
    const row = form.closest(".queue-row");
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new FormData(form), headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) { say(form, data.error || "That did not work."); return; }
      row.classList.add("row-done");
      row.innerHTML = "";
      const done = document.createElement("p");
      done.setAttribute("role", "status");
      done.textContent = data.message;
      row.append(done);
    } catch (error) {
      form.submit();
    }
  });

  // --- Inline reply: the reply link opens a form under the comment.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.reply-link");
    if (!link) return;
    const comment = link.closest(".comment");
    const existing = $(":scope > details > .inline-reply", comment);
    event.preventDefault();
    if (existing) { $("textarea", existing).focus(); return; }
    const token = $("input[name=csrf_token]");
    if (!token) { location.href = link.href; return; }
    const id = link.dataset.replyTo;
    const form = document.createElement("form");
    form.method = "post";
    form.action = `/posts/${id}/reply`;
    form.className = "compose inline-reply";
    form.innerHTML = `
      <input type="hidden" name="csrf_token">
      <div class="field"><label for="reply-body-${id}">Your reply</label>
      <textarea id="reply-body-${id}" name="body" required></textarea></div>
      <div class="buttons"><button type="submit" name="submit" value="Post reply">Post reply</button>
      <button type="submit" name="preview" value="Preview" class="secondary">Preview</button>
      <button type="button" class="secondary cancel">Cancel</button></div>`;
    $("input[name=csrf_token]", form).value = token.value;
    $(".cancel", form).addEventListener("click", () => form.remove());
    $(":scope > details > .comment-actions", comment).after(form);
    $("textarea", form).focus();
  });

  // --- Ask before leaving a half-written comment.
  let dirty = false;
  document.addEventListener("input", (event) => { if (event.target.matches(".compose textarea")) dirty = true; });
  document.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (event) => { if (dirty) { event.preventDefault(); event.returnValue = ""; } });

  // --- Relative times stay current while the page is open.
  function relative(date) {
    const s = Math.floor((Date.now() - date.getTime()) / 1000);
    if (s < 60) return "just now";
    const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (s >= size) { const n = Math.floor(s / size); return `${n} ${unit}${n === 1 ? "" : "s"} ago`; }
    }
    return "just now";
  }
  function refreshTimes() {
    $$("time[datetime][title]").forEach((el) => {
      const date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date) && / ago$|just now/.test(el.textContent)) el.textContent = relative(date);
    });
  }
  setInterval(refreshTimes, 60000);
})();
