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

  function say(element, message) {
    let note = $(".form-note", element.parentNode);
    if (!note) {
      note = document.createElement("span");
      note.className = "form-note error";
      note.setAttribute("role", "alert");
      element.after(note);
    }
    note.textContent = message;
  }

  // --- Votes without a reload. Each vote button sends the page's #vote-form to its
  // post (formaction): that works alone; this saves the reload.
  document.addEventListener("submit", async (event) => {
    const form = event.target, button = event.submitter;
    if (form.id !== "vote-form" || !button || button.dataset.reload) return;
    event.preventDefault();
    const body = new FormData(form);
    body.append(button.name, button.value);
    button.disabled = true;
    try {
      const response = await fetch(button.formAction, {
        method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) { say(button, data.error || "That did not work."); return; }
      button.value = data.voted ? "0" : "1";
      button.setAttribute("aria-pressed", data.voted ? "true" : "false");
      button.textContent = data.voted ? (button.dataset.on || "▲ Upvoted") : (button.dataset.off || "▲ Upvote");
      $$(`[data-score="${data.post}"]`).forEach((el) => {
        const unit = el.dataset.unit || "point";
        el.textContent = `${data.score} ${unit}${data.score === 1 ? "" : "s"}`;
      });
    } catch (error) {
      button.dataset.reload = "1";  // sent as without JavaScript
      button.disabled = false;
      form.requestSubmit(button);
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

  // --- A moderator's menu on a post: the decision form opens under the post instead of on
  // its own page (the same form, fetched from that page); sent, it comes back to this page.
  document.addEventListener("click", async (event) => {
    const link = event.target.closest(".mod-menu a");
    if (!link) return;
    const comment = link.closest(".comment");
    if (!comment) return;
    event.preventDefault();
    const menu = link.closest("details");
    try {
      const response = await fetch(link.href, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const form = page.querySelector("#moderate-form");
      if (!form) throw new Error("no form");
      $(".inline-moderate", comment)?.remove();
      form.id = "";
      form.classList.add("inline-moderate");
      let next = $("input[name=next]", form);
      if (!next) {
        next = document.createElement("input");
        next.type = "hidden";
        next.name = "next";
        form.append(next);
      }
      next.value = location.pathname + location.search;
      $$("a.button", form).forEach((el) => el.remove());
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => { form.remove(); link.focus(); });
      $(".buttons", form).append(" ", cancel);
      menu.open = false;
      (menu.closest(".comment-actions") || menu.parentElement).after(form);
      ($("select[name=reason]", form) || $("select", form)).focus();
    } catch (error) {
      location.href = link.href;
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

  // --- Ask before leaving a half-written comment (unless this browser keeps drafts: see below).
  let submitting = false;
  document.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (document.documentElement.dataset.draftsKept) return;
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

// --- Nothing typed is lost (issue 21): drafts in this browser and, logged in, on the server;
// waits counted down; a dialog before deleting; the Undo button while it lasts.
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const store = (() => { try { return window.localStorage; } catch (error) { return null; } })();
  const PREFIX = "draft:";
  if (store) document.documentElement.dataset.draftsKept = "1";  // leaving loses nothing: no prompt

  // What the writer typed in a form: its text fields by name (no token, no trap).
  const textFields = (form) => $$("textarea[name], input[type=text][name], input[type=url][name], input:not([type])[name]", form)
    .filter((el) => el.name !== "website" && el.name !== "csrf_token");
  const keyOf = (form) => new URL(form.getAttribute("action") || location.pathname, location.href).pathname;
  const draftable = (form) => form.method.toLowerCase() === "post" && textFields(form).some((el) => el.tagName === "TEXTAREA");

  function read(form) {
    const values = {};
    textFields(form).forEach((el) => { values[el.name] = el.value; });
    return values;
  }
  function fill(form, values, note) {
    let filled = false;
    textFields(form).forEach((el) => {
      const value = values[el.name];
      if (typeof value === "string" && value.trim() && el.value === el.defaultValue && value !== el.value) {
        el.value = value;
        filled = true;
      }
    });
    if (filled && !$(".draft-note", form)) {
      const p = document.createElement("p");
      p.className = "hint draft-note";
      p.setAttribute("role", "status");
      p.textContent = note;
      form.prepend(p);
    }
    return filled;
  }

  // Sent forms: their local drafts go once the next page shows the form empty again (accepted),
  // and stay when it shows the text again (refused: fix and resend).
  let sent = [];
  try { sent = JSON.parse(sessionStorage.getItem("drafts-sent") || "[]"); sessionStorage.removeItem("drafts-sent"); } catch (error) { sent = []; }
  const forms = $$("form").filter(draftable);
  sent.forEach((key) => {
    const again = forms.find((form) => keyOf(form) === key);
    const refused = again && textFields(again).some((el) => el.value.trim() && el.value !== "" && $(".error", again));
    if (!refused && store) store.removeItem(PREFIX + key);
  });

  const token = $("input[name=csrf_token]");
  const pending = new Map();  // form key -> form, waiting for the next server save
  async function saveOnServer(leaving) {
    if (!token || !pending.size) return;
    const waiting = Array.from(pending.values());
    pending.clear();
    for (const form of waiting) {
      const body = new FormData();
      body.append("csrf_token", ($("input[name=csrf_token]", form) || token).value);
      body.append("draft_form", keyOf(form));
      body.append("draft_page", location.pathname + location.search + (form.id ? "#" + form.id : ""));
      const values = read(form);
      Object.entries(values).forEach(([name, value]) => body.append(name, value));
      // Leaving the page: keepalive lets the request outlive it.
      try {
        const response = await fetch("/drafts", { method: "POST", body, credentials: "same-origin", keepalive: leaving === true });
        // Synced: from now on the server's copy decides (it is gone once posted from any device).
        if (response.ok && store && store.getItem(PREFIX + keyOf(form))) store.setItem(PREFIX + keyOf(form), JSON.stringify({ values, synced: true }));
      } catch (error) { /* kept locally */ }
    }
  }
  setInterval(saveOnServer, 15000);
  window.addEventListener("pagehide", () => saveOnServer(true));

  function watch(form) {
    if (form.dataset.drafts) return;
    form.dataset.drafts = "on";
    const key = keyOf(form);
    if (store) {
      try {
        const local = JSON.parse(store.getItem(PREFIX + key) || "null");
        if (local && !(local.synced && token)) fill(form, local.values || {}, "Your unsent text from this browser is back.");
      } catch (error) { store.removeItem(PREFIX + key); }
    }
    form.addEventListener("input", () => {
      const values = read(form);
      if (store) {
        if (Object.values(values).some((v) => v.trim())) store.setItem(PREFIX + key, JSON.stringify({ values, synced: false }));
        else store.removeItem(PREFIX + key);
      }
      pending.set(key, form);
    });
    form.addEventListener("submit", () => {
      try {
        const list = JSON.parse(sessionStorage.getItem("drafts-sent") || "[]");
        sessionStorage.setItem("drafts-sent", JSON.stringify(list.concat([key])));
      } catch (error) { /* no session storage: the draft stays until the writer clears it */ }
      pending.delete(key);
    });
  }
  forms.forEach(watch);
  // Logging out forgets this browser's drafts: the next person at this computer must not see them
  // (a logged-in writer's drafts stay on the server, for their next login).
  document.addEventListener("submit", (event) => {
    if (!store || !/\/auth\/logout$/.test(new URL(event.target.action, location.href).pathname)) return;
    Object.keys(store).filter((key) => key.startsWith(PREFIX)).forEach((key) => store.removeItem(key));
  });
  // The inline reply form is made by the script above when "reply" is clicked.
  new MutationObserver(() => $$("form.compose").filter(draftable).forEach((form) => {
    if (!form.dataset.drafts) { watch(form); restoreFromServer([form]); }
  })).observe(document.body, { childList: true, subtree: true });

  // A draft written on another device: asked for once per page, for the forms still empty.
  async function restoreFromServer(list) {
    const empty = list.filter((form) => textFields(form).every((el) => el.value === el.defaultValue));
    if (!token || !empty.length) return;
    const query = empty.map((form) => "form=" + encodeURIComponent(keyOf(form))).join("&");
    try {
      const response = await fetch("/drafts?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) return;
      const saved = (await response.json()).drafts || {};
      empty.forEach((form) => {
        if (saved[keyOf(form)]) fill(form, saved[keyOf(form)], "Your draft is back (saved from another visit).");
        else if (store) {  // a synced local copy the server no longer has was posted or discarded elsewhere
          try { if ((JSON.parse(store.getItem(PREFIX + keyOf(form)) || "null") || {}).synced) store.removeItem(PREFIX + keyOf(form)); } catch (error) { /* ignore */ }
        }
      });
    } catch (error) { /* the form still works */ }
  }
  restoreFromServer(forms);

  // "You can send it in 38 s": counted down where a limit was reached.
  $$(".error").forEach((el) => {
    const match = /send it in (\d+) s/.exec(el.textContent);
    if (!match) return;
    let left = parseInt(match[1], 10);
    const tick = setInterval(() => {
      left -= 1;
      el.textContent = el.textContent.replace(/send it in \d+ s/, left > 0 ? `send it in ${left} s` : "send it now");
      if (left <= 0) clearInterval(tick);
    }, 1000);
  });

  // "Posted": said at the new comment itself (the link's target), not only at the top.
  const posted = $(".flash-posted");
  const target = /^#c\d+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
  if (posted && target) {
    const body = $(":scope > details > .comment-body", target) || $(".comment-body", target);
    if (body) { posted.classList.add("posted-note"); body.after(posted); }
  }

  // Undo after deleting: the button goes when its time is up.
  $$("form.undo[data-undo-seconds]").forEach((form) => {
    let left = parseInt(form.dataset.undoSeconds, 10);
    const hint = $(".hint", form);
    const tick = setInterval(() => {
      left -= 1;
      if (hint) hint.textContent = `(for ${left} s)`;
      if (left <= 0) { clearInterval(tick); const b = $("button", form); if (b) b.remove(); if (hint) hint.remove(); }
    }, 1000);
  });

  // Deleting asks in a dialog (without JavaScript the disclosure is the second step).
  document.addEventListener("click", (event) => {
    const summary = event.target.closest(".confirm-delete > summary");
    if (!summary) return;
    event.preventDefault();
    const form = $("form", summary.parentNode);
    const dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-delete-title");
    dialog.innerHTML = `<h2 id="confirm-delete-title">Delete this post?</h2>
      <p>You can undo it for 10 seconds afterwards.</p>
      <form method="dialog"><button value="delete" class="danger">Delete</button> <button value="cancel" class="secondary">Cancel</button></form>`;
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "delete") form.submit();
      dialog.remove();
    });
    dialog.showModal();
  });
})();

// --- Moments: select words of the transcript to discuss exactly those (without JS, each
// sentence's "discuss" link opens the same box for the whole sentence). Offsets are
// characters into the revision's text, as services/moments.py reads them: each sentence
// carries where it starts (data-o).
(function () {
  const box = document.getElementById("moment-compose");
  const body = document.querySelector("#transcript .transcript-body");
  if (!box || !body) return;
  const offsetIn = (node, offset) => {
    const element = node.nodeType === 1 ? node : node.parentElement;
    const sentence = element && element.closest(".sentence");
    if (!sentence || !body.contains(sentence)) return null;
    const range = document.createRange();
    range.setStart(sentence, 0);
    range.setEnd(node, offset);
    return parseInt(sentence.dataset.o, 10) + range.toString().length;
  };
  const duration = (s) => {
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  };
  function choose() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    const range = selection.getRangeAt(0);
    let start = offsetIn(range.startContainer, range.startOffset);
    let end = offsetIn(range.endContainer, range.endOffset);
    if (start == null || end == null) return;
    let quote = selection.toString();
    const lead = quote.length - quote.trimStart().length;
    start += lead;
    quote = quote.trim();
    end = start + quote.length;
    if (!quote || end <= start) return;
    const first = range.startContainer.parentElement.closest(".sentence");
    const seconds = parseInt(first.dataset.t, 10) || 0;
    box.querySelectorAll("[data-anchor-revision]").forEach((input) => { input.value = box.dataset.revision; });
    box.querySelectorAll("[data-anchor-start]").forEach((input) => { input.value = String(start); });
    box.querySelectorAll("[data-anchor-end]").forEach((input) => { input.value = String(end); });
    box.querySelector("[data-moment-quote]").textContent = quote;
    const time = box.querySelector("[data-moment-time]");
    const url = new URL(time.href, location.href);
    url.searchParams.set("t", String(seconds));
    time.href = url.href;
    time.textContent = duration(seconds);
    first.closest(".transcript-paragraph").after(box);  // beside the words, not at the top
    box.hidden = false;
  }
  body.addEventListener("mouseup", () => setTimeout(choose, 0));
  body.addEventListener("keyup", (event) => { if (event.shiftKey) choose(); });

  // The transcript follows the player: the sentence being said is marked (and kept in
  // view inside the transcript's own scroll box, never by scrolling the page), and a click
  // on a sentence (not a selection, not a link) seeks the audio there.
  const audio = document.querySelector("#player audio");
  const sentences = Array.from(body.querySelectorAll(".sentence[data-t]"));
  const times = sentences.map((s) => parseInt(s.dataset.t, 10) || 0);
  if (audio && sentences.length) {
    let current = null;
    const follow = () => {
      const now = audio.currentTime;
      let lo = 0, hi = times.length - 1, found = -1;
      while (lo <= hi) {  // the last sentence starting at or before now (times are in order)
        const mid = (lo + hi) >> 1;
        if (times[mid] <= now) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      const next = found >= 0 ? sentences[found] : null;
      if (next === current) return;
      if (current) { current.classList.remove("is-current"); current.removeAttribute("aria-current"); }
      current = next;
      if (!current) return;
      current.classList.add("is-current");
      current.setAttribute("aria-current", "true");
      if (!audio.paused) {
        const top = current.offsetTop - body.offsetTop;
        if (top < body.scrollTop || top > body.scrollTop + body.clientHeight - 40) body.scrollTop = top - 40;
      }
    };
    audio.addEventListener("timeupdate", follow);
    audio.addEventListener("seeked", follow);
    body.addEventListener("click", (event) => {
      const sentence = event.target.closest(".sentence");
      const selection = window.getSelection();
      if (!sentence || event.target.closest("a") || (selection && !selection.isCollapsed)) return;
      audio.currentTime = parseInt(sentence.dataset.t, 10) || 0;
      follow();
    });
  }

  // A moment's permalink (#moment-N) highlights exactly its words.
  const target = location.hash.startsWith("#moment-") && document.getElementById(location.hash.slice(1));
  if (target && target.classList.contains("moment-target")) {
    const sentence = target.closest(".sentence");
    const from = parseInt(target.dataset.start, 10) - parseInt(sentence.dataset.o, 10);
    const to = parseInt(target.dataset.end, 10) - parseInt(sentence.dataset.o, 10);
    const node = Array.from(sentence.childNodes).find((n) => n.nodeType === 3);
    if (node && from >= 0 && to <= node.length && to > from) {
      const range = document.createRange();
      range.setStart(node, from);
      range.setEnd(node, to);
      const mark = document.createElement("mark");
      mark.className = "moment-words";
      range.surroundContents(mark);
      mark.scrollIntoView({ block: "center" });
    }
  }
})();
