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
  const queryT = new URLSearchParams(location.search).get("t");
  if (hashT) seek(seconds(hashT[1]), false);
  else if (queryT) seek(seconds(queryT), false);

  // --- The mini-player: once started, the player docks at the bottom of the window while
  // its place is scrolled away. The same <audio> element only changes class: it keeps playing.
  const player = $("#player");
  if (player && $("audio", player) && "IntersectionObserver" in window) {
    const audio = $("audio", player);
    const slot = player.parentElement;
    let away = false;
    const started = () => !audio.paused || audio.currentTime > 0;
    const update = () => {
      const dock = away && started();
      if (dock === player.classList.contains("is-mini")) return;
      if (dock) slot.style.minHeight = `${slot.offsetHeight}px`;  // the page does not jump
      else slot.style.minHeight = "";
      player.classList.toggle("is-mini", dock);
      document.body.classList.toggle("has-mini-player", dock);
    };
    new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      away = !entry.isIntersecting && entry.boundingClientRect.top < 0;  // scrolled past, not yet reached
      update();
    }).observe(slot);
    audio.addEventListener("play", update);
    audio.addEventListener("seeked", update);

    // "Copy link at this moment": the page's address with ?t= at the current second.
    const copy = $("[data-copy-moment]", player);
    if (copy) {
      copy.parentElement.hidden = false;
      copy.addEventListener("click", async () => {
        const url = new URL(copy.dataset.copyMoment);
        const at = Math.floor(audio.currentTime || 0);
        if (at > 0) url.searchParams.set("t", String(at));
        const note = $("output", copy.parentElement);
        try {
          await navigator.clipboard.writeText(url.href);
          note.textContent = `Copied: ${url.href}`;
        } catch (error) {
          note.textContent = url.href;  // no clipboard access: the link to copy by hand
        }
        copy.dataset.copied = url.href;
      });
    }
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.seek");
    if (!link || !$("#player audio")) return;
    const t = new URL(link.href, location.href).searchParams.get("t");
    if (seek(seconds(t), true)) {
      event.preventDefault();
      if (!$("#player").classList.contains("is-mini")) $("#player").scrollIntoView({ behavior: "smooth", block: "nearest" });
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
  let submitting = false;
  document.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    const unsaved = $$(".compose textarea").some((t) => t.value.trim() && t.value !== t.defaultValue);
    if (unsaved && !submitting) { event.preventDefault(); event.returnValue = ""; }
  });

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

// --- Reading aids: jump to new comments, keyboard shortcuts, live preview, counters.
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // "Jump to new comments": only where there are some.
  const fresh = $$(".comment.is-new");
  const discussion = $("#discussion h2");
  if (fresh.length && discussion) {
    const jump = document.createElement("a");
    jump.href = "#" + fresh[0].id;
    jump.className = "jump-new";
    jump.textContent = `Jump to ${fresh.length} new comment${fresh.length === 1 ? "" : "s"}`;
    discussion.after(jump);
  }

  // Keyboard: j/k next/previous comment, n next new one, r reply, / search, ? help.
  let current = -1;
  function focusComment(list, step) {
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, current + step));
    const target = list[current];
    target.scrollIntoView({ block: "center" });
    const link = $(".permalink", target);
    if (link) link.focus({ preventScroll: true });
  }
  function help() {
    let dialog = $("#shortcut-help");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "shortcut-help";
      dialog.setAttribute("aria-labelledby", "shortcut-title");
      dialog.innerHTML = `<h2 id="shortcut-title">Keyboard shortcuts</h2>
        <dl class="shortcuts"><dt>j / k</dt><dd>next / previous comment</dd><dt>n</dt><dd>next new comment</dd>
        <dt>r</dt><dd>reply to the current comment</dd><dt>/</dt><dd>search</dd><dt>?</dt><dd>this help</dd></dl>
        <form method="dialog"><button type="submit">Close</button></form>`;
      document.body.append(dialog);
    }
    dialog.showModal();
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const comments = $$(".comment");
    if (event.key === "j") focusComment(comments, 1);
    else if (event.key === "k") focusComment(comments, -1);
    else if (event.key === "n") {
      const news = $$(".comment.is-new");
      const next = news.find((c) => c.getBoundingClientRect().top > 80) || news[0];
      if (next) { current = comments.indexOf(next) - 1; focusComment(comments, 1); }
    } else if (event.key === "r" && comments[current]) {
      const reply = $(".reply-link", comments[current]);
      if (reply) { event.preventDefault(); reply.click(); }
    } else if (event.key === "/") {
      event.preventDefault();
      location.href = "/search";
    } else if (event.key === "?") help();
  });

  // Live preview while typing: the same server renderer (Markdown + MathML), debounced.
  function attachPreview(textarea) {
    const form = textarea.form;
    const token = form && $("input[name=csrf_token]", form);
    if (!token || textarea.dataset.preview) return;
    textarea.dataset.preview = "on";
    const panel = document.createElement("section");
    panel.className = "preview live-preview";
    panel.setAttribute("aria-live", "polite");
    panel.hidden = true;
    panel.innerHTML = '<h3>Preview</h3><div class="prose"></div>';
    textarea.closest(".field").after(panel);
    let timer;
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (!textarea.value.trim()) { panel.hidden = true; return; }
        const body = new FormData();
        body.append("csrf_token", token.value);
        body.append("body", textarea.value);
        try {
          const response = await fetch("/markup/preview", { method: "POST", body, credentials: "same-origin" });
          if (!response.ok) return;
          $(".prose", panel).innerHTML = (await response.json()).html;  // sanitised on the server
          panel.hidden = false;
        } catch (error) { /* the Preview button still works */ }
      }, 400);
    });
  }
  $$(".compose textarea").forEach(attachPreview);
  document.addEventListener("focusin", (event) => {
    if (event.target.matches(".compose textarea")) attachPreview(event.target);
  });

  // Counters near the limit of a field.
  document.addEventListener("input", (event) => {
    const field = event.target;
    const max = parseInt(field.getAttribute("maxlength") || "0", 10);
    if (!max || !field.matches("input, textarea")) return;
    let counter = field.parentNode.querySelector(".counter");
    if (!counter) {
      counter = document.createElement("p");
      counter.className = "counter hint";
      counter.setAttribute("aria-live", "polite");
      field.after(counter);
    }
    const used = field.value.length;
    counter.textContent = used > max * 0.8 ? `${used.toLocaleString()} / ${max.toLocaleString()} characters` : "";
  });
})();
