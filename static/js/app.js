// coexhistory: the few behaviours HTMX does not give us. Loaded (deferred) after htmx.min.js;
// no inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";

  // --- HTMX responses -----------------------------------------------------------------------
  // 204: nothing to swap. 2xx/3xx: swap into the target. 422: the server re-rendered the form
  // with its errors, swap it in place. Other 4xx/5xx: the server sent an error fragment; it
  // goes to the #flash region as a toast (see htmx:beforeSwap below) unless the server chose
  // a target itself with HX-Retarget. error:false because the page handles these answers;
  // htmx would otherwise log each one to the console.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: true, error: false, target: "#flash", swapOverride: "beforeend", select: "unset" },
    { code: "...", swap: false }
  ];

  // --- CSRF -----------------------------------------------------------------------------------
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
    if (browserZone) {
      evt.detail.headers["X-Timezone"] = browserZone;
    }
  });

  // --- Time zone ------------------------------------------------------------------------------
  // The server renders times in the reader's zone: the profile's choice, else the browser's,
  // which it learns from this cookie (page loads) and the X-Timezone header (HTMX requests).
  var browserZone = "";
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    browserZone = "";
  }
  if (browserZone && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(browserZone)) {
    var secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = "coex_tz=" + encodeURIComponent(browserZone) + "; path=/; max-age=31536000; samesite=lax" + secure;
  } else {
    browserZone = "";
  }

  // --- Toasts ---------------------------------------------------------------------------------
  var TOAST_MS = 6000;

  function flashRegion() {
    var region = document.getElementById("flash");
    if (!region) {
      region = document.createElement("div");
      region.id = "flash";
      region.className = "toasts";
      region.setAttribute("aria-live", "polite");
      region.setAttribute("data-testid", "flash");
      document.body.appendChild(region);
    }
    return region;
  }

  // showToast adds a dismissible toast. content is a string (shown as text, never as HTML) or
  // a DOM node from the server. Errors stay until dismissed; the rest fade after a while.
  function showToast(kind, content) {
    kind = kind || "info";
    var toast = document.createElement("div");
    toast.className = "toast toast-" + kind;
    toast.setAttribute("role", kind === "error" ? "alert" : "status");
    toast.setAttribute("data-testid", "toast");
    toast.setAttribute("data-kind", kind);
    var body = document.createElement("div");
    body.className = "toast-body";
    if (typeof content === "string") {
      body.textContent = content;
    } else {
      body.appendChild(content);
    }
    toast.appendChild(body);
    decorateToast(toast);
    flashRegion().appendChild(toast);
    return toast;
  }

  // decorateToast adds the close button and the timer; also used for toasts the server put
  // into #flash when it rendered the page.
  function decorateToast(toast) {
    if (toast.querySelector(".toast-close")) {
      return;
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", words("data-dismiss", "Dismiss"));
    close.textContent = "\u00d7";
    toast.appendChild(close);
    var kind = toast.getAttribute("data-kind") || "";
    if (kind !== "error" && kind !== "warning") {
      window.setTimeout(function () { toast.remove(); }, TOAST_MS);
    }
  }

  document.addEventListener("click", function (evt) {
    var close = evt.target.closest(".toast-close");
    if (close) {
      close.closest(".toast").remove();
    }
  });

  // HX-Trigger: {"flash": {"message": "...", "kind": "success"}}
  document.addEventListener("flash", function (evt) {
    var d = evt.detail || {};
    var message = d.message || d.value;
    if (message) {
      showToast(d.kind || "success", String(message));
    }
  });

  // errorContent picks what to show from an error response: the server's error fragment
  // when there is one, else its text, else a generic line with the status.
  // words is a line of the page's language, which the server puts on <html> (English when a
  // page has none).
  function words(attr, english) {
    return document.documentElement.getAttribute(attr) || english;
  }

  function errorContent(responseText, status) {
    var tpl = document.createElement("template");
    tpl.innerHTML = responseText || "";
    var fragment = tpl.content.querySelector('[data-testid="error"], .alert, [role="alert"]');
    if (fragment) {
      fragment.removeAttribute("role"); // the toast itself is the alert
      return fragment;
    }
    var text = (tpl.content.textContent || "").replace(/\s+/g, " ").trim();
    if (text && text.length <= 300) {
      return text;
    }
    return words("data-http-error", "Something went wrong (HTTP {status}). Please try again.").replace("{status}", status);
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail;
    var status = d.xhr ? d.xhr.status : 0;
    if (status < 400 || status === 422 || !d.target || d.target.id !== "flash") {
      return;
    }
    d.shouldSwap = false;
    showToast("error", errorContent(d.serverResponse, status));
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("error", words("data-send-error", "Could not reach coexhistory. Check your connection and try again."));
  });

  document.addEventListener("htmx:timeout", function () {
    showToast("error", words("data-timeout", "The server took too long to answer. Please try again."));
  });

  // --- Copy to clipboard ------------------------------------------------------------------------
  // <button data-copy="text to copy"> or <code data-copy> (copies its own text).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      area.remove();
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  document.addEventListener("click", function (evt) {
    var el = evt.target.closest("[data-copy]");
    if (!el) {
      return;
    }
    evt.preventDefault();
    var text = el.getAttribute("data-copy") || el.textContent.trim();
    copyText(text).then(
      function () { showToast("success", words("data-copied", "Copied to the clipboard.")); },
      function () { showToast("warning", words("data-copy-failed", "Could not copy. Select the text and press Ctrl+C.")); }
    );
  });

  // --- Relative times ---------------------------------------------------------------------------
  // <time datetime="2025-01-02T03:04:05Z" data-relative> shows "5 minutes ago" in the page's
  // language. The server wrote the exact time in the reader's zone as the text and the title:
  // the title stays, and times a week or more away keep the server's text.
  var lang = document.documentElement.lang || undefined;
  var WEEK_S = 7 * 24 * 3600;
  var UNITS = [["day", 86400], ["hour", 3600], ["minute", 60]];
  var relativeFormat = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;

  // relativeText is "" when the server's text should stay.
  function relativeText(when, now) {
    var seconds = Math.round((when - now) / 1000);
    var abs = Math.abs(seconds);
    if (!relativeFormat || abs >= WEEK_S) {
      return "";
    }
    if (abs < 45) {
      var root = document.documentElement;
      return seconds <= 0 ? (root.getAttribute("data-just-now") || "just now") : (root.getAttribute("data-in-seconds") || "in a few seconds");
    }
    for (var i = 0; i < UNITS.length; i++) {
      if (abs >= UNITS[i][1]) {
        return relativeFormat.format(Math.round(seconds / UNITS[i][1]), UNITS[i][0]);
      }
    }
    return relativeFormat.format(Math.round(seconds / 60), "minute");
  }

  function renderTimes(root) {
    var now = Date.now();
    var nodes = (root || document).querySelectorAll("time[datetime][data-relative]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) {
        continue;
      }
      if (!el.hasAttribute("data-text")) {
        el.setAttribute("data-text", el.textContent);
      }
      el.textContent = relativeText(when, now) || el.getAttribute("data-text");
    }
  }

  // --- Bars ---------------------------------------------------------------------------------------
  // <div class="bar" data-value="42"><span></span></div>: width set here, so no inline styles.
  function renderBars(root) {
    var bars = (root || document).querySelectorAll(".bar[data-value]");
    for (var i = 0; i < bars.length; i++) {
      var fill = bars[i].firstElementChild;
      var value = Math.max(0, Math.min(100, parseFloat(bars[i].getAttribute("data-value")) || 0));
      if (fill) {
        fill.style.width = value + "%";
      }
    }
  }

  // --- Filter forms that submit on change ---------------------------------------------------------
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest("form[data-autosubmit]");
    if (form && evt.target.matches("select, input, textarea")) {
      form.requestSubmit();
    }
  });

  // --- Focus after "Load more" -------------------------------------------------------------------
  // A "Load more" button replaces itself with the next items: focus moves to the first new
  // item instead of falling back to <body>, so keyboard readers keep their place.
  var focusAfter = null;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var trigger = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var target = evt.detail.target;
    focusAfter = null;
    if (trigger && target && trigger === document.activeElement && target.contains(trigger) && target.previousElementSibling) {
      focusAfter = target.previousElementSibling;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var before = focusAfter;
    focusAfter = null;
    if (!before || !before.isConnected) {
      return;
    }
    var first = before.nextElementSibling;
    if (!first) {
      return;
    }
    var focusable = first.matches("a[href], button, input, [tabindex]") ? first : first.querySelector("a[href], button, input, [tabindex]");
    if (focusable) {
      focusable.focus({ preventScroll: true });
    }
  });

  // --- Live views -------------------------------------------------------------------------------
  // <div data-live-url="..."> asks its URL every few seconds while the tab is visible and
  // the server answers 204 (nothing new) or the element's replacement, which carries the
  // next URL. The answers come from the database, so any instance behind any proxy serves
  // them. A list holding [data-live-stop] (the reader loaded more pages) is left alone.
  var LIVE_MS = 2000;
  var livePending = false;

  function pollLive() {
    if (document.hidden || livePending) {
      return;
    }
    var el = document.querySelector("[data-live-url]:not([data-live-url=''])");
    if (!el || el.querySelector("[data-live-stop]")) {
      return;
    }
    var atBottom = (window.innerHeight + window.scrollY) >= document.body.scrollHeight - 80;
    var chatEnd = el.id === "thread-end";
    livePending = true;
    // X-Coex-Poll: a poll is no sign of a person at the screen, so it does not keep the
    // session from ending after its idle time.
    htmx.ajax("GET", el.getAttribute("data-live-url"), { source: el, target: el, swap: "outerHTML", headers: { "X-Coex-Poll": "1" } }).then(function () {
      livePending = false;
      var end = document.getElementById("thread-end");
      if (chatEnd && atBottom && end && end !== el) {
        end.scrollIntoView({ block: "end" });
      }
    }, function () {
      livePending = false;
    });
  }

  // A thread's live poll also carries, in <template data-chat-changes>, the bubbles already
  // on the page that changed since (a status, an edit, a delete, a reaction, stored media):
  // each takes the place of the bubble with its id, keeping an open edit history open.
  function applyChatChanges() {
    document.querySelectorAll("template[data-chat-changes]").forEach(function (tpl) {
      Array.prototype.forEach.call(tpl.content.children, function (fresh) {
        var old = fresh.id && document.getElementById(fresh.id);
        if (!old) {
          return;
        }
        var node = document.importNode(fresh, true);
        var wasOpen = old.querySelector("details[open]");
        if (wasOpen) {
          var details = node.querySelector("details");
          if (details) {
            details.open = true;
          }
        }
        old.replaceWith(node);
        htmx.process(node);
      });
      tpl.remove();
    });
  }
  document.addEventListener("htmx:afterSettle", applyChatChanges);

  // A live element whose poll failed stops polling (the error was shown once).
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-live-url") && !evt.detail.successful) {
      elt.removeAttribute("data-live-url");
    }
  });

  window.setInterval(pollLive, LIVE_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      pollLive();
    }
  });

  // --- New content ------------------------------------------------------------------------------
  // htmx.onLoad runs for the initial page and for every piece of swapped-in content.
  flashRegion();
  htmx.onLoad(function (elt) {
    renderTimes(elt.parentNode || elt);
    renderBars(elt.parentNode || elt);
    var toasts = (elt.id === "flash" ? elt : document.getElementById("flash"));
    if (toasts) {
      var existing = toasts.querySelectorAll(".toast");
      for (var i = 0; i < existing.length; i++) {
        decorateToast(existing[i]);
      }
    }
  });

  window.setInterval(function () { renderTimes(document); }, 30000);
})();
