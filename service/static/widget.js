/**
 * <roleqa-search>: the roleqa search box, embedded on any intranet page with one tag.
 *
 *   <script src="https://roleqa.internal/widget.js" defer></script>
 *   <roleqa-search endpoint="https://roleqa.internal" k="5" placeholder="Ask about our roles"></roleqa-search>
 *
 * Attributes
 *   endpoint     the service's base URL (default: wherever this script was loaded from)
 *   k            passages to show, 1-50 (default 5)
 *   placeholder  the input's placeholder and accessible name
 *   role         only passages about this role (a name or alias from the role book)
 * Children with slot="example" become clickable example questions (data-question, or their text).
 * Theme with the --roleqa-* custom properties listed at the top of STYLE.
 *
 * One file, no dependencies and no build step, so an intranet page needs nothing but the tag.
 * Every string from the service is inserted as text (append/textContent), never parsed as HTML.
 */
(() => {
  "use strict";

  const TAG = "roleqa-search";
  if (customElements.get(TAG)) return;

  const SCRIPT_URL = document.currentScript?.src || document.baseURI;
  const DEBOUNCE_MS = 200;
  const MIN_CHARS = 3; // typing shorter than this waits; Enter searches anything
  const MAX_K = 50;
  const CONTEXT_CHARS = 90; // of the passage shown before the answer when collapsed
  const ROLE_TONES = ["#2563eb", "#c2410c", "#047857", "#7c3aed", "#be123c", "#0e7490", "#a16207", "#4d7c0f"];
  const SHARED = "shared";

  const STYLE = `
:host {
  /* Public theme: set any of these on roleqa-search (or an ancestor) to restyle the box. */
  --_accent: var(--roleqa-accent, #2563eb);
  --_bg: var(--roleqa-bg, #ffffff);
  --_fg: var(--roleqa-fg, #0f172a);
  --_muted: var(--roleqa-muted, #64748b);
  --_border: var(--roleqa-border, #d8dee8);
  --_surface: var(--roleqa-surface, #f5f7fb);
  --_mark: var(--roleqa-mark, #fde68a);
  --_error: var(--roleqa-error, #b91c1c);
  --_error-bg: var(--roleqa-error-bg, #fef2f2);
  --_radius: var(--roleqa-radius, 12px);
  --_font: var(--roleqa-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  --_shared: var(--roleqa-role-shared, #64748b);
  display: block;
  color: var(--_fg);
  font: 15px/1.5 var(--_font);
  text-align: start;
}
@media (prefers-color-scheme: dark) {
  :host {
    --_accent: var(--roleqa-accent, #60a5fa);
    --_bg: var(--roleqa-bg, #111827);
    --_fg: var(--roleqa-fg, #e5e7eb);
    --_muted: var(--roleqa-muted, #9ca3af);
    --_border: var(--roleqa-border, #303a4d);
    --_surface: var(--roleqa-surface, #1a2333);
    --_mark: var(--roleqa-mark, #854d0e);
    --_error: var(--roleqa-error, #fca5a5);
    --_error-bg: var(--roleqa-error-bg, #2a1215);
  }
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip-path: inset(50%); white-space: nowrap;
}

.field {
  position: relative; display: flex; align-items: center;
  background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius);
  box-shadow: 0 1px 2px rgb(15 23 42 / 0.06);
  transition: border-color 120ms, box-shadow 120ms;
}
.field:focus-within {
  border-color: var(--_accent);
  box-shadow: 0 0 0 3px color-mix(in srgb, var(--_accent) 25%, transparent);
}
.icon { flex: none; width: 20px; height: 20px; margin-inline: 14px 0; color: var(--_muted); }
input {
  flex: 1; min-width: 0; height: 48px; padding: 0 12px;
  border: 0; outline: 0; background: transparent; color: inherit; font: inherit; font-size: 16px;
}
input::placeholder { color: var(--_muted); opacity: 1; }
.spinner {
  flex: none; width: 16px; height: 16px; margin-inline-end: 6px;
  border: 2px solid var(--_border); border-top-color: var(--_accent); border-radius: 50%;
  animation: spin 700ms linear infinite;
}
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 2s; } }
.clear {
  flex: none; display: grid; place-items: center; width: 32px; height: 32px; margin-inline-end: 8px;
  border: 0; border-radius: 8px; background: transparent; color: var(--_muted); cursor: pointer;
  font: inherit; font-size: 20px; line-height: 1;
}
.clear:hover { background: var(--_surface); color: var(--_fg); }
.clear:focus-visible, .examples ::slotted(:focus-visible) { outline: 2px solid var(--_accent); outline-offset: 2px; }

.examples { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-top: 12px; }
.examples-label { color: var(--_muted); font-size: 13px; margin-inline-end: 2px; }
.examples ::slotted(*) { cursor: pointer; }

.panel { margin-top: 12px; }
.summary {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px;
  margin: 0 2px 10px; color: var(--_muted); font-size: 14px;
}
.summary .meta { margin-inline-start: auto; font-size: 13px; }

.notice, .error {
  display: flex; gap: 12px; align-items: flex-start;
  padding: 12px 14px; margin-bottom: 10px; border-radius: var(--_radius);
  border: 1px solid var(--_border); background: var(--_surface);
}
.notice svg, .error svg { flex: none; width: 20px; height: 20px; margin-top: 1px; }
.notice svg { color: var(--_muted); }
.notice strong, .error strong { display: block; font-weight: 600; }
.notice span, .error span { display: block; color: var(--_muted); font-size: 14px; overflow-wrap: anywhere; }
.error { border-color: color-mix(in srgb, var(--_error) 35%, transparent); background: var(--_error-bg); }
.error svg, .error strong { color: var(--_error); }

ul {
  list-style: none; margin: 0; padding: 0; overflow: hidden;
  background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius);
}
ul.weak { opacity: 0.72; }
li { position: relative; padding: 12px 16px 14px; cursor: pointer; }
li + li { border-top: 1px solid var(--_border); }
li:hover { background: var(--_surface); }
li[aria-selected="true"] { background: var(--_surface); box-shadow: inset 3px 0 0 var(--_accent); }
.field:focus-within ~ .panel li[aria-selected="true"] { outline: 2px solid var(--_accent); outline-offset: -2px; }
.head { display: flex; align-items: center; gap: 10px; min-width: 0; }
.path {
  flex: 1; min-width: 0; color: var(--_muted); font-size: 13px;
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
}
.score { flex: none; display: flex; align-items: center; gap: 6px; color: var(--_muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.bar { width: 56px; height: 4px; border-radius: 2px; background: var(--_border); overflow: hidden; }
.bar > span { display: block; height: 100%; width: calc(var(--score) * 100%); background: var(--_accent); opacity: 0.75; }
.text { margin: 6px 0 0; }
li:not(.open) .text {
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden;
}
li.open .path { white-space: normal; }
mark {
  background: var(--_mark); color: inherit; padding: 1px 2px; border-radius: 3px;
  -webkit-box-decoration-break: clone; box-decoration-break: clone;
}
.source { margin: 8px 0 0; color: var(--_muted); font-size: 12px; }

.badge {
  flex: none; display: inline-block; max-width: 16em; padding: 2px 9px; border-radius: 999px;
  background: var(--tone); color: #fff; font-size: 12px; font-weight: 600; line-height: 18px;
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
}
.badge.shared {
  background: transparent; color: var(--_fg); box-shadow: inset 0 0 0 1.5px var(--_shared);
}
.badge.none { background: transparent; color: var(--_muted); box-shadow: inset 0 0 0 1px var(--_border); font-weight: 500; }
.hint { margin: 8px 2px 0; color: var(--_muted); font-size: 12px; }
kbd {
  font: inherit; padding: 0 5px; border: 1px solid var(--_border); border-bottom-width: 2px; border-radius: 4px;
}
${ROLE_TONES.map((c, i) => `.badge[data-tone="${i}"] { --tone: var(--roleqa-role-${i}, ${c}); }`).join("\n")}
`;

  const ICON_SEARCH = `<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/></svg>`;
  const ICON_INFO = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M12 8h.01M11 12h1v5h1"/></svg>`;
  const ICON_ALERT = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M12 3 2 20h20L12 3z"/><path d="M12 10v4M12 17h.01"/></svg>`;

  // Static markup only: nothing from the service or the page goes in here.
  const TEMPLATE = document.createElement("template");
  TEMPLATE.innerHTML = `
<div class="field" part="field">
  ${ICON_SEARCH}
  <input id="q" type="text" role="combobox" aria-autocomplete="list" aria-expanded="false"
    aria-controls="results" aria-describedby="hint" autocomplete="off" autocapitalize="off"
    spellcheck="false" enterkeyhint="search">
  <span class="spinner" aria-hidden="true" hidden></span>
  <button class="clear" type="button" aria-label="Clear the search" hidden>&times;</button>
</div>
<div class="examples" part="examples" hidden><span class="examples-label">Try</span><slot name="example"></slot></div>
<div class="panel" part="panel">
  <div class="error" role="alert" hidden>${ICON_ALERT}<div><strong></strong><span></span></div></div>
  <div class="notice" hidden>${ICON_INFO}<div><strong>No good answer in these documents</strong><span>The closest passages are below, but they do not answer the question. Try asking it another way.</span></div></div>
  <div class="summary" hidden></div>
  <ul id="results" role="listbox" aria-label="Answers" part="results" hidden></ul>
  <p class="hint" id="hint" hidden><kbd>↑</kbd> <kbd>↓</kbd> move · <kbd>Enter</kbd> expand · <kbd>Esc</kbd> clear</p>
</div>
<p class="sr-only" role="status" aria-live="polite"></p>`;

  /** One /roles request per endpoint, shared by every box on the page: role name -> tone. */
  const roleBooks = new Map();
  function roleTones(endpoint) {
    if (!roleBooks.has(endpoint)) {
      const book = fetch(apiUrl(endpoint, "roles"))
        .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`HTTP ${res.status}`))))
        .then((body) => new Map(body.roles.map((role, i) => [role.name, i % ROLE_TONES.length])))
        .catch(() => {
          roleBooks.delete(endpoint); // ask again next time; meanwhile badges stay neutral
          return new Map();
        });
      roleBooks.set(endpoint, book);
    }
    return roleBooks.get(endpoint);
  }

  function apiUrl(endpoint, path, params = {}) {
    const url = new URL(path, endpoint.endsWith("/") ? endpoint : `${endpoint}/`);
    for (const [name, value] of Object.entries(params)) {
      if (value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    return url;
  }

  /** createElement with attributes; children are appended as nodes or as plain text. */
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    el.append(...children);
    return el;
  }

  function badge(role, tones) {
    if (role === null || role === undefined) return h("span", { class: "badge none" }, "No specific role");
    if (role === SHARED) return h("span", { class: "badge shared", title: "About several roles" }, "Shared");
    const tone = tones.get(role);
    return h("span", tone === undefined ? { class: "badge none" } : { class: "badge", "data-tone": tone }, role);
  }

  /** Where the answer sits in the passage, as [start, end) ranges: whole, or sentence by sentence. */
  function answerRanges(text, answer) {
    if (!answer) return [];
    const whole = text.indexOf(answer);
    if (whole >= 0) return [[whole, whole + answer.length]];
    const ranges = [];
    let from = 0;
    for (const sentence of answer.split(/(?<=[.!?])\s+/)) {
      const at = sentence ? text.indexOf(sentence, from) : -1;
      if (at >= 0) {
        ranges.push([at, at + sentence.length]);
        from = at + sentence.length;
      }
    }
    return ranges;
  }

  /** The passage as text and <mark> nodes; collapsed, it starts a little before the answer. */
  function passageNodes(text, ranges, full) {
    let start = 0;
    if (!full && ranges.length && ranges[0][0] > CONTEXT_CHARS) {
      start = text.indexOf(" ", ranges[0][0] - CONTEXT_CHARS) + 1;
    }
    const nodes = start > 0 ? ["… "] : [];
    let at = start;
    for (const [from, to] of ranges) {
      nodes.push(text.slice(at, from), h("mark", {}, text.slice(from, to)));
      at = to;
    }
    nodes.push(text.slice(at));
    return nodes;
  }

  function errorDetail(body) {
    const detail = body?.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => d?.msg ?? String(d)).join("; ");
    return "";
  }

  class RoleqaSearch extends HTMLElement {
    static observedAttributes = ["endpoint", "k", "placeholder", "role"];

    #root;
    #input;
    #list;
    #status;
    #timer = 0;
    #inflight = null; // AbortController of the request whose answer we still want
    #hits = []; // {passage, ranges, li}
    #active = -1;

    constructor() {
      super();
      this.#root = this.attachShadow({ mode: "open" });
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE); // a constructed sheet: no inline <style>, so strict CSPs allow it
      this.#root.adoptedStyleSheets = [sheet];
      this.#root.append(TEMPLATE.content.cloneNode(true));
      this.#input = this.#$("input");
      this.#list = this.#$("ul");
      this.#status = this.#$('[role="status"]');
      this.#input.setAttribute("aria-label", "Ask a question");

      this.#input.addEventListener("input", () => this.#typed());
      this.#input.addEventListener("keydown", (e) => this.#key(e));
      this.#$(".clear").addEventListener("click", () => {
        this.clear();
        this.#input.focus();
      });
      // Keep focus in the input (the combobox) when a result is clicked.
      this.#list.addEventListener("mousedown", (e) => e.preventDefault());
      this.#list.addEventListener("click", (e) => {
        const li = e.target.closest("li");
        if (li) this.#toggle(this.#hits.findIndex((hit) => hit.li === li));
      });
      const slot = this.#$("slot");
      slot.addEventListener("slotchange", () => this.#showExamples());
      this.addEventListener("click", (e) => {
        const example = e.target.closest?.('[slot="example"]');
        if (example && example.parentElement === this) {
          e.preventDefault();
          this.ask(example.dataset.question || example.textContent.trim());
        }
      });
    }

    /** Fill the box with a question and search at once (what the example buttons do). */
    ask(question) {
      this.#input.value = question;
      this.#input.focus();
      this.#search();
    }

    /** Empty the box: input, results, errors; any request in flight is dropped. */
    clear() {
      this.#input.value = "";
      this.#cancel();
      this.#render(null);
      this.#showError(null);
      this.#announce("");
    }

    connectedCallback() {
      this.#showExamples();
    }

    disconnectedCallback() {
      this.#cancel();
    }

    attributeChangedCallback(name, _old, value) {
      if (name === "placeholder") {
        this.#input.placeholder = value ?? "";
        this.#input.setAttribute("aria-label", value || "Ask a question");
      } else if (this.isConnected && this.#input.value.trim().length >= MIN_CHARS) {
        this.#schedule();
      }
    }

    #$(selector) {
      return this.#root.querySelector(selector);
    }

    get #endpoint() {
      const attr = this.getAttribute("endpoint");
      return attr ? new URL(attr, document.baseURI).href : new URL(".", SCRIPT_URL).href;
    }

    get #k() {
      const k = Number.parseInt(this.getAttribute("k") ?? "", 10);
      return Number.isFinite(k) ? Math.min(Math.max(k, 1), MAX_K) : 5;
    }

    #typed() {
      this.#$(".clear").hidden = !this.#input.value;
      this.#showExamples();
      const length = this.#input.value.trim().length;
      if (length === 0) this.clear();
      else if (length >= MIN_CHARS) this.#schedule();
    }

    #schedule() {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#search(), DEBOUNCE_MS);
    }

    #cancel() {
      clearTimeout(this.#timer);
      this.#inflight?.abort();
      this.#inflight = null;
      this.#busy(false);
    }

    async #search() {
      this.#cancel();
      const question = this.#input.value.trim();
      this.#$(".clear").hidden = !this.#input.value;
      this.#showExamples();
      if (!question) return this.clear();
      let endpoint;
      try {
        endpoint = this.#endpoint;
      } catch {
        return this.#fail("Search is not set up", `The endpoint “${this.getAttribute("endpoint")}” is not a valid URL.`);
      }
      const request = new AbortController();
      this.#inflight = request;
      this.#busy(true);
      this.#announce("Searching…");
      const url = apiUrl(endpoint, "search", { q: question, k: this.#k, role: this.getAttribute("role") });
      let res, body, tones;
      try {
        [res, tones] = await Promise.all([fetch(url, { signal: request.signal }), roleTones(endpoint)]);
        body = await res.json().catch(() => null);
      } catch {
        if (request !== this.#inflight) return; // dropped on purpose: a newer question, or cleared
        const origin = new URL(endpoint).origin;
        return this.#fail(
          "Search is unavailable",
          `Could not reach the search service at ${origin}. It may be down, or it may not accept requests from ${location.origin}.`,
        );
      }
      if (request !== this.#inflight) return; // a newer question was asked meanwhile
      this.#inflight = null;
      this.#busy(false);
      if (!res.ok || body?.error) {
        const title = res.status >= 500 ? "The search service failed" : "The search service could not answer";
        const status = res.ok ? "" : ` (HTTP ${res.status})`;
        return this.#fail(title, (errorDetail(body) || body?.error || "no details given") + status);
      }
      this.#showError(null);
      this.#render(body, tones);
    }

    #fail(title, message) {
      this.#cancel();
      this.#render(null);
      this.#showError(title, message);
    }

    #busy(on) {
      this.#$(".spinner").hidden = !on;
      this.#list.setAttribute("aria-busy", String(on));
    }

    #announce(text) {
      this.#status.textContent = text;
    }

    #showExamples() {
      const any = this.#$("slot").assignedElements().length > 0;
      this.#$(".examples").hidden = !any || this.#input.value.trim() !== "";
    }

    #showError(title, message = "") {
      const box = this.#$(".error");
      box.hidden = !title;
      box.querySelector("strong").textContent = title ?? "";
      box.querySelector("span").textContent = message;
      if (title) this.#announce(`${title}. ${message}`);
    }

    /** Show an Answer (or nothing, for null): the answer role, the no-answer notice, the passages. */
    #render(answer, tones = new Map()) {
      const passages = answer?.passages ?? [];
      this.#active = -1;
      this.#input.removeAttribute("aria-activedescendant");
      this.#hits = passages.map((p, i) => {
        const li = h("li", { id: `opt-${i}`, role: "option", "aria-selected": "false", part: "result" });
        const score = Math.min(Math.max(Number(p.score) || 0, 0), 1);
        const bar = h("span");
        bar.style.setProperty("--score", String(score));
        li.append(
          h(
            "div",
            { class: "head" },
            badge(p.role, tones),
            h("span", { class: "path" }, p.section.length ? p.section.join(" › ") : p.source),
            h("span", { class: "score", title: `score ${score.toFixed(2)}` }, h("span", { class: "bar", "aria-hidden": "true" }, bar), score.toFixed(2)),
          ),
          h("p", { class: "text" }),
        );
        // Without an answer, the closest passages' best sentences answer nothing: no highlight.
        const ranges = answer.no_answer ? [] : answerRanges(p.text, p.answer);
        const hit = { passage: p, ranges, li };
        this.#fill(hit, false);
        return hit;
      });
      this.#list.replaceChildren(...this.#hits.map((hit) => hit.li));
      this.#list.classList.toggle("weak", Boolean(answer?.no_answer));
      const open = this.#hits.length > 0;
      this.#list.hidden = !open;
      this.#$(".hint").hidden = !open;
      this.#input.setAttribute("aria-expanded", String(open));
      this.#$(".notice").hidden = !answer?.no_answer;

      const summary = this.#$(".summary");
      summary.hidden = !answer || answer.no_answer || !open;
      if (answer && !summary.hidden) {
        const confidence = Math.round((Number(answer.confidence) || 0) * 100);
        summary.replaceChildren(
          h("span", {}, "Answer about"),
          badge(answer.answer_role, tones),
          h("span", { class: "meta" }, `confidence ${confidence}% · ${passages.length} passage${passages.length === 1 ? "" : "s"}`),
        );
      }
      if (answer) {
        const count = `${passages.length} passage${passages.length === 1 ? "" : "s"}`;
        this.#announce(
          answer.no_answer
            ? `No good answer in these documents. ${count} shown as the closest matches.`
            : `${count}. Answer about ${answer.answer_role ?? "no specific role"}. Use the arrow keys to move through them.`,
        );
      }
    }

    /** Put the passage text into its result, collapsed around the answer or in full. */
    #fill(hit, full) {
      const { passage, ranges, li } = hit;
      li.classList.toggle("open", full);
      li.querySelector(".text").replaceChildren(...passageNodes(passage.text, ranges, full));
      li.querySelector(".source")?.remove();
      if (full) {
        li.append(h("p", { class: "source" }, `${passage.source} · characters ${passage.start}–${passage.end}`));
      }
    }

    #toggle(index) {
      const hit = this.#hits[index];
      if (!hit) return;
      this.#move(index);
      const full = !hit.li.classList.contains("open");
      this.#fill(hit, full);
      this.#announce(full ? `Result ${index + 1} expanded: ${hit.passage.text}` : `Result ${index + 1} collapsed.`);
    }

    #move(index) {
      this.#hits[this.#active]?.li.setAttribute("aria-selected", "false");
      this.#active = index;
      const li = this.#hits[index].li;
      li.setAttribute("aria-selected", "true");
      li.scrollIntoView({ block: "nearest" });
      this.#input.setAttribute("aria-activedescendant", li.id);
    }

    #key(e) {
      const n = this.#hits.length;
      if (e.key === "ArrowDown" && n) {
        this.#move((this.#active + 1) % n);
      } else if (e.key === "ArrowUp" && n) {
        this.#move(this.#active <= 0 ? n - 1 : this.#active - 1);
      } else if (e.key === "Enter" && !e.isComposing) {
        if (this.#active >= 0) this.#toggle(this.#active);
        else this.#search();
      } else if (e.key === "Escape" && (this.#input.value || n)) {
        this.clear();
      } else {
        return;
      }
      e.preventDefault();
    }
  }

  customElements.define(TAG, RoleqaSearch);
})();
