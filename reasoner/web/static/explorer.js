// earlog explorer: the scenario form, the decision table, the proof and the rule interplay.
// Plain browser JavaScript, no libraries. The page only sends data: the server validates
// every document as scenario YAML and decides it (POST /api/decide).
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);

  // el("div", {class: "x"}, "text", child): text children are text nodes, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // The form: each section's fields in order, with the widget each one uses.
  // A trailing "?" makes a select optional (a blank choice: not stated).
  const SPEC = {
    entities: [["id", "id"], ["name", "text"], ["located_in", "country"],
      ["headquartered_in", "country"], ["parent", "entity?"], ["government_controlled", "bool"],
      ["veu", "veu"], ["weights_storage_compliant", "tri"], ["majority_owned", "tri"]],
    items: [["id", "id"], ["eccn", "eccn"], ["tpp_per_unit", "number"],
      ["performance_density", "number"], ["datacenter", "tri"], ["designer", "designer?"]],
    models: [["id", "id"], ["training_operations", "number"], ["published", "bool"],
      ["trained_on_ear_hardware", "bool"], ["derived_from", "model?"],
      ["additional_operations", "number"], ["produced_in", "country?"],
      ["below_best_published", "tri"]],
    transactions: [["id", "id"], ["type", "tx_type"], ["date", "date"], ["exporter", "entity"],
      ["from", "country"], ["to", "country"], ["ultimate_consignee", "entity"], ["item", "item?"],
      ["model", "model?"], ["quantity", "number"], ["end_use", "end_use"],
      ["final_destination", "country?"]],
  };
  // Which section a reference widget names, and which fields refer to each section.
  const REF = { entity: "entities", item: "items", model: "models" };
  const REFERRERS = {
    entities: [["entities", "parent"], ["transactions", "exporter"],
      ["transactions", "ultimate_consignee"]],
    items: [["transactions", "item"]],
    models: [["transactions", "model"], ["models", "derived_from"]],
  };
  const I18N = {
    en: { facts: "Facts", decisions: "Decisions", proof: "Proof of", download: "Download",
      interplay: "Rule interplay", questions: "Questions that would change this answer", history: "History (read only)", new: "new step",
      changed: "same step, new grounds", entities: "Entities", items: "Items", models: "Models",
      transactions: "Transactions", add: "add", remove: "remove" },
    zh: { facts: "事实", decisions: "决定", proof: "证明：", download: "下载",
      interplay: "规则之间的关系", questions: "会改变结论的问题", history: "历史（只读）", new: "新步骤",
      changed: "相同步骤，新依据", entities: "实体", items: "物项", models: "模型",
      transactions: "交易", add: "添加", remove: "删除" },
  };

  const S = {
    doc: null, choices: null, memo: { formats: [], reason: "" }, lang: "en", tx: null,
    last: null, widgets: new Map(), records: new Map(), seq: 0, rulesSeq: 0, questionsSeq: 0, timer: 0,
    fit: true, predicatesShown: false,
  };
  const t = (key) => (I18N[S.lang] || I18N.en)[key] || I18N.en[key] || key;
  const pathKey = (path) => JSON.stringify(path);

  function setStatus(text, kind) {
    const s = $("#status");
    s.textContent = text;
    s.className = kind || "";
  }

  // ---- the document ----------------------------------------------------------------

  function getAt(path) {
    let v = S.doc;
    for (const p of path) v = v == null ? undefined : v[p];
    return v;
  }

  function setAt(path, value) {
    let v = S.doc;
    for (const p of path.slice(0, -1)) v = v[p];
    v[path[path.length - 1]] = value;
  }

  function ids(section) {
    return (S.doc[section] || []).map((r) => r && r.id).filter((x) => typeof x === "string" && x);
  }

  function options(kind) {
    const c = S.choices;
    switch (kind) {
      case "country": return c.countries.map((x) => [x.code, `${x.code} · ${x.name}`]);
      case "eccn": return c.eccns.map((x) => [x, x]);
      case "tx_type": return c.tx_types.map((x) => [x, x]);
      case "end_use": return c.end_uses.map((x) => [x, x]);
      case "designer": return c.designers.map((x) => [x, x]);
      case "regime": return c.regimes.map((x) => [x, x]);
      case "bool": return [["false", "no"], ["true", "yes"]];
      case "tri": return [["", "unknown"], ["true", "yes"], ["false", "no"]];
      default:
        if (REF[kind]) return ids(REF[kind]).map((x) => [x, x]);
        return [];
    }
  }

  function selectFor(kind, value, path, label) {
    const optional = kind.endsWith("?");
    const base = optional ? kind.slice(0, -1) : kind;
    let opts = options(base);
    if (optional || base === "bool") opts = [["", "—"], ...opts];
    const current = value === null || value === undefined ? "" : String(value);
    if (!opts.some(([v]) => v === current)) opts = [...opts, [current, `${current} (?)`]];
    const sel = el("select", { "aria-label": label, dataset: { path: pathKey(path), kind: base } });
    for (const [v, text] of opts) sel.append(el("option", { value: v }, text));
    sel.value = current;
    return sel;
  }

  function widget(kind, value, path, label) {
    if (["id", "text", "number", "date"].includes(kind)) {
      return el("input", {
        type: "text", value: value === null || value === undefined ? "" : String(value),
        "aria-label": label, inputmode: kind === "number" ? "decimal" : null,
        placeholder: kind === "date" ? "YYYY-MM-DD" : null, spellcheck: "false",
        dataset: { path: pathKey(path), kind },
      });
    }
    return selectFor(kind, value, path, label);
  }

  function field(path, kind, label) {
    const value = getAt(path);
    const wrap = el("label", { class: "field" }, el("span", {}, label));
    if (kind === "veu") {
      wrap.classList.add("veu");
      const v = value && typeof value === "object" ? value : null;
      const type = el("select", { "aria-label": `${label} type`,
        dataset: { path: pathKey(path), kind: "veu", part: "type" } },
      el("option", { value: "" }, "none"), el("option", { value: "uveu" }, "UVEU"),
      el("option", { value: "nveu" }, "NVEU"));
      type.value = v ? v.type || "" : "";
      const country = selectFor("country?", v ? v.country : null, path, `${label} country`);
      country.dataset.kind = "veu";
      country.dataset.part = "country";
      country.disabled = !v || v.type !== "nveu";
      wrap.append(el("span", { class: "pair" }, type, country));
    } else {
      wrap.append(widget(kind, value, path, label));
    }
    wrap.append(el("span", { class: "field-error" }));
    S.widgets.set(pathKey(path), wrap);
    return wrap;
  }

  function renderForm() {
    S.widgets.clear();
    S.records.clear();
    const top = $("#scenario-fields");
    top.replaceChildren(field(["scenario"], "id", "scenario id"),
      field(["description"], "text", "description"),
      field(["as_of"], "date", "law read as of (optional)"));
    const regime = $("#regime");
    regime.replaceChildren(...options("regime").map(([v, x]) => el("option", { value: v }, x)));
    regime.value = S.doc.regime || "ifr";
    const box = $("#sections");
    box.replaceChildren();
    for (const section of Object.keys(SPEC)) {
      const list = Array.isArray(S.doc[section]) ? S.doc[section] : (S.doc[section] = []);
      box.append(el("h3", {}, t(section),
        el("button", { type: "button", dataset: { add: section } }, `+ ${t("add")}`)));
      list.forEach((rec, i) => {
        const fs = el("fieldset", { class: "record", dataset: { section, index: String(i) } },
          el("legend", {}, rec && rec.id ? rec.id : `${section} ${i + 1}`));
        for (const [key, kind] of SPEC[section]) fs.append(field([section, i, key], kind, key));
        fs.append(el("button", { type: "button", class: "remove",
          dataset: { remove: section, index: String(i) } }, t("remove")));
        S.records.set(pathKey([section, i]), fs);
        box.append(fs);
      });
    }
    const hist = S.doc.history;
    $("#history-box").hidden = !hist;
    $("#history").textContent = hist ? JSON.stringify(hist, null, 2) : "";
  }

  function readWidget(node) {
    const kind = node.dataset.kind;
    const raw = node.value;
    if (kind === "bool" || kind === "tri") return raw === "" ? null : raw === "true";
    const v = raw.trim();
    return v === "" ? null : v;
  }

  function unique(section, stem) {
    const taken = new Set(ids(section));
    for (let n = 1; ; n++) if (!taken.has(`${stem}${n}`)) return `${stem}${n}`;
  }

  function rename(section, from, to) {
    for (const [sec, key] of REFERRERS[section] || []) {
      for (const rec of S.doc[sec] || []) if (rec && rec[key] === from) rec[key] = to;
    }
  }

  function onChange(ev) {
    const node = ev.target;
    if (!node.dataset || !node.dataset.path) return;
    const path = JSON.parse(node.dataset.path);
    if (node.dataset.kind === "veu") {
      const wrap = node.closest(".field");
      const [type, country] = wrap.querySelectorAll("select");
      country.disabled = type.value !== "nveu";
      setAt(path, type.value ? (type.value === "nveu"
        ? { type: "nveu", country: country.value || null } : { type: type.value }) : null);
    } else {
      const before = getAt(path);
      const value = readWidget(node);
      setAt(path, value);
      if (path.length === 3 && path[2] === "id" && typeof before === "string" && value) {
        rename(path[0], before, value);
        if (path[0] === "transactions" && S.tx === before) S.tx = value;
        renderForm();
      }
    }
    schedule();
  }

  function onClick(ev) {
    const add = ev.target.closest("[data-add]");
    const remove = ev.target.closest("[data-remove]");
    if (add) {
      const section = add.dataset.add;
      const list = S.doc[section];
      const last = list[list.length - 1];
      const fresh = {
        entities: () => ({ id: unique("entities", "entity"), located_in: "US", headquartered_in: "US" }),
        items: () => ({ id: unique("items", "item"), eccn: "3A090.a", tpp_per_unit: "15832",
          datacenter: true, designer: "approved" }),
        models: () => ({ id: unique("models", "model"), training_operations: "1e26",
          published: false, trained_on_ear_hardware: true }),
        transactions: () => (last ? { ...last, id: unique("transactions", "tx") }
          : { id: "tx1", type: "export", date: "2025-06-16", end_use: "inference" }),
      }[section]();
      list.push(fresh);
      renderForm();
      schedule();
    } else if (remove) {
      S.doc[remove.dataset.remove].splice(Number(remove.dataset.index), 1);
      renderForm();
      schedule();
    }
  }

  // ---- deciding --------------------------------------------------------------------

  function schedule() {
    clearTimeout(S.timer);
    S.timer = setTimeout(decide, 120);
  }

  async function decide() {
    const my = ++S.seq;
    setStatus("deciding…", "busy");
    const last = S.last;
    const previous = last && last.proof
      ? { state: last.state, transaction: last.transaction, nodes: last.proof.nodes } : null;
    let res;
    let data;
    try {
      res = await fetch("/api/decide", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ document: S.doc, transaction: S.tx, lang: S.lang,
          level: $("#level").value, previous }),
      });
      data = await res.json();
    } catch (err) {
      if (my === S.seq) setStatus("the server cannot be reached", "error");
      return;
    }
    if (my !== S.seq) return;
    if (res.status === 422) {
      showErrors(data.errors || []);
      stale(true);
      const n = (data.errors || []).length;
      setStatus(`${n} problem${n === 1 ? "" : "s"} in the facts: nothing decided`, "error");
      return;
    }
    if (!res.ok) {
      setStatus(`${data.error || res.statusText}${data.hint ? ` (${data.hint})` : ""}`, "error");
      return;
    }
    showErrors([]);
    stale(false);
    S.last = data;
    S.tx = data.transaction;
    renderDecisions(data, last);
    renderChanges(data);
    renderProof(data);
    updateDownloads();
    loadRules();
    loadQuestions();
    setStatus(`decided ${data.decisions.length} transaction${data.decisions.length === 1 ? "" : "s"}`
      + ` (${data.regime})`, "ok");
  }

  function stale(on) {
    $("#decisions").classList.toggle("stale", on);
    $("#proof").classList.toggle("stale", on);
  }

  function showErrors(errors) {
    for (const wrap of S.widgets.values()) {
      const slot = wrap.querySelector(".field-error");
      if (slot) slot.textContent = "";
      for (const c of wrap.querySelectorAll("input, select")) c.removeAttribute("aria-invalid");
    }
    for (const fs of S.records.values()) fs.classList.remove("invalid");
    const general = $("#general-errors");
    general.replaceChildren();
    for (const e of errors) {
      const text = e.message + (e.hint ? ` — ${e.hint}` : "");
      const wrap = S.widgets.get(pathKey(e.path));
      if (wrap) {
        const slot = wrap.querySelector(".field-error");
        slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
        for (const c of wrap.querySelectorAll("input, select")) c.setAttribute("aria-invalid", "true");
        const fs = S.records.get(pathKey(e.path.slice(0, 2)));
        if (fs) fs.classList.add("invalid");
        continue;
      }
      const fs = S.records.get(pathKey(e.path.slice(0, 2)));
      if (fs) fs.classList.add("invalid");
      const where = e.path.length ? `${e.path.join(".")}: ` : "";
      general.append(el("div", { class: "error" }, where + text));
    }
  }

  const COLS = ["transaction", "outcome", "license", "exceptions", "review", "uncertain"];

  function renderDecisions(data, before) {
    const old = new Map((before && before.decisions || []).map((d) => [d.transaction, d]));
    const body = $("#decisions tbody");
    body.replaceChildren();
    for (const d of data.decisions) {
      const prev = old.get(d.transaction);
      const license = d.license_required === null ? "?" : d.license_required ? "yes" : "no";
      const cells = [d.transaction, d.outcome, license, d.exceptions.join(", ") || "—",
        d.review_policy || "—", d.uncertainties.join(", ") || "—"];
      const fields = [null, "outcome", "license_required", "exceptions", "review_policy", null];
      const row = el("tr", { dataset: { tx: d.transaction },
        class: d.transaction === data.transaction ? "selected" : null });
      cells.forEach((text, k) => {
        const f = fields[k];
        const changed = prev && f && JSON.stringify(prev[f]) !== JSON.stringify(d[f]);
        const cls = [COLS[k], k === 1 ? `outcome-${d.outcome}` : "", changed ? "flipped" : ""];
        row.append(el("td", { class: cls.filter(Boolean).join(" ") }, text));
      });
      row.title = d.citations.join("; ");
      body.append(row);
    }
  }

  function renderChanges(data) {
    const box = $("#changes");
    box.replaceChildren();
    const p = data.proof;
    if (!p || !p.method) return;
    const label = (s) => (S.lang === "zh" ? s.label_zh : s.label_en) || s.kind;
    if (p.changes.length) {
      box.append(el("div", {}, el("b", {}, `What changed for ${data.transaction}:`)));
      box.append(el("ul", {}, p.changes.map((c) => el("li", { class: "field-change" },
        el("b", {}, c.field), `: ${change(c)}`))));
    }
    const appeared = p.steps.filter((s) => s.status === "appeared");
    const gone = p.steps.filter((s) => s.status === "disappeared");
    const list = (title, steps, cls) => el("details", {}, el("summary", {}, `${title} (${steps.length})`),
      el("ul", {}, steps.map((s) => el("li", { class: cls }, label(s) + (s.cite ? ` [${s.cite}]` : "")))));
    if (appeared.length) box.append(list("Steps new in the proof", appeared, "appeared"));
    if (gone.length) box.append(list("Steps gone from the proof", gone, "disappeared"));
    if (!box.childElementCount) box.append(el("div", { class: "muted" }, "The proof did not change."));
  }

  // A changed decision field: lists as what was added and removed, values as before → after.
  function change(c) {
    if (Array.isArray(c.before) && Array.isArray(c.after)) {
      const added = c.after.filter((x) => !c.before.includes(x));
      const removed = c.before.filter((x) => !c.after.includes(x));
      if (c.field === "citations") return `${added.length} added, ${removed.length} removed`;
      return [...added.map((x) => `+ ${x}`), ...removed.map((x) => `− ${x}`)].join("; ");
    }
    return `${fmt(c.before)} → ${fmt(c.after)}`;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (Array.isArray(v)) return v.length ? v.join(", ") : "—";
    return String(v);
  }

  function renderProof(data) {
    $("#proof-tx").textContent = data.transaction || "";
    const box = $("#proof");
    if (!data.proof) {
      box.replaceChildren(el("p", { class: "muted" }, "No transaction to explain."));
      return;
    }
    box.replaceChildren(parseSvg(data.proof.svg));
    const first = box.querySelector("g.earlog-new");
    if (first && !S.fit) first.scrollIntoView({ block: "center", inline: "center" });
  }

  function parseSvg(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (!svg || svg.nodeName !== "svg") return el("p", { class: "muted" }, "The graph could not be drawn.");
    for (const s of svg.querySelectorAll("script, foreignObject")) s.remove();
    return document.importNode(svg, true);
  }

  function updateDownloads() {
    const d = S.last;
    const q = (extra) => new URLSearchParams({ state: d.state, tx: d.transaction || "", lang: S.lang,
      download: "1", ...extra }).toString();
    const level = $("#level").value;
    for (const f of ["svg", "dot", "graphml", "json"]) {
      const a = $(`#dl-${f}`);
      a.href = `/api/proof?${q({ format: f, level })}`;
      a.setAttribute("aria-disabled", d.transaction ? "false" : "true");
    }
    $("#dl-yaml").href = `/api/scenario.yaml?${q({})}`;
    const links = $("#memo-links");
    links.replaceChildren(...S.memo.formats.map((f) => el("a", {
      class: "button", id: `dl-memo-${f}`, download: true,
      href: `/api/memo?${q({ format: f })}`, "aria-disabled": d.transaction ? "false" : "true",
    }, `memo ${f.toUpperCase()}`)));
    $("#memo-note").textContent = S.memo.formats.length ? ""
      : `Memo download unavailable: ${S.memo.reason || "no memo module in this build"}`;
  }

  // ---- questions that would change this answer (earlog interview's analysis) ---------

  async function loadQuestions() {
    const my = ++S.questionsSeq;
    const box = $("#questions");
    if (!S.last || !S.last.transaction) {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(el("p", { class: "muted" }, "trying the unstated facts…"));
    const params = new URLSearchParams({ state: S.last.state, tx: S.last.transaction,
      lang: S.lang });
    let res;
    let data;
    try {
      res = await fetch(`/api/questions?${params}`);
      data = await res.json();
    } catch (err) {
      return;
    }
    if (my !== S.questionsSeq) return;
    if (!res.ok) {
      box.replaceChildren(el("p", { class: "field-error" }, `${data.error}${data.hint ? ` — ${data.hint}` : ""}`));
      return;
    }
    if (!data.questions.length) {
      const what = data.possible.length ? data.possible[0] : "this decision";
      box.replaceChildren(el("p", { class: "muted" },
        `Settled: ${what}, whatever the ${data.considered.length} unstated facts tried `
        + `(${data.variants} variants decided).`));
      return;
    }
    const items = data.questions.map((q) => el("li", {},
      el("span", { class: "question" }, q.question.replace(/\u2026$/, "…?")), " ",
      el("code", {}, q.field),
      el("ul", {}, ...q.leads_to.map((l) => el("li", {}, `${l.answers} → ${l.verdict}`)))));
    box.replaceChildren(
      el("p", { class: "muted small" }, `Could still be: ${data.possible.join(" | ")}. `
        + "Unstated facts whose answers change the decision, best first:"),
      el("ol", {}, ...items));
  }

  // ---- rule interplay ----------------------------------------------------------------

  async function loadRules() {
    const my = ++S.rulesSeq;
    const params = new URLSearchParams({ focus: S.predicatesShown ? $("#focus").value : S.rulesFocus,
      depth: $("#depth").value || "2", lang: S.lang });
    if (S.last) {
      params.set("state", S.last.state);
      if (S.last.transaction) params.set("tx", S.last.transaction);
    } else {
      params.set("regime", S.doc.regime || "ifr");
    }
    let res;
    let data;
    try {
      res = await fetch(`/api/rules?${params}`);
      data = await res.json();
    } catch (err) {
      return;
    }
    if (my !== S.rulesSeq) return;
    const box = $("#rules");
    if (!res.ok) {
      box.replaceChildren(el("p", { class: "field-error" }, `${data.error}${data.hint ? ` — ${data.hint}` : ""}`));
      return;
    }
    if (!S.predicatesShown) {
      const focus = $("#focus");
      focus.replaceChildren(el("option", { value: "" }, "(element map)"),
        ...data.predicates.map((p) => el("option", { value: p }, p)));
      focus.value = data.focus;
      S.predicatesShown = true;
    }
    S.ruleGroups = data.groups || {};
    box.replaceChildren(parseSvg(data.svg));
  }

  function showGroup(name) {
    // An element of the map: its rules, each a button showing the rule.
    const group = S.ruleGroups[name] || { title: name, cite: "", rules: [] };
    $("#rule-info").replaceChildren(el("h3", {}, group.title), el("p", {}, group.cite),
      el("p", { class: "muted small" }, "its rules (pick a predicate under focus for the detail):"),
      el("ul", {}, ...group.rules.map((r) => el("li", {}, el("button", {
        type: "button", dataset: { rule: `r:${r}` } }, r)))));
  }

  async function showRule(id) {
    const params = new URLSearchParams({ id });
    if (S.last) params.set("state", S.last.state);
    else params.set("regime", S.doc.regime || "ifr");
    const res = await fetch(`/api/rule?${params}`);
    const r = await res.json();
    const box = $("#rule-info");
    if (!res.ok) {
      box.replaceChildren(el("p", { class: "field-error" }, r.error));
      return;
    }
    const row = (name, ...value) => [el("dt", {}, name), el("dd", {}, ...value)];
    const fired = r.fired_in.length ? r.fired_in.map((tx) => el("button", {
      type: "button", dataset: { selectTx: tx } }, tx)) : ["none of this scenario's transactions"];
    box.replaceChildren(el("h3", {}, r.id), el("dl", {},
      row("citation", r.cite || "—"),
      row("English", r.label_en || "—"),
      row("中文", r.label_zh || "—"),
      row("concludes", r.concludes.join(", ")),
      row("uses", r.uses.map((u) => (u.polarity === "negative" ? `not ${u.predicate}`
        : u.polarity === "aggregate" ? `${u.predicate} (aggregate)` : u.predicate)).join(", ") || "—"),
      row("regimes", r.regimes.join(", ") || "all"),
      row("uncertainties", r.uncertain.join(", ") || "—"),
      row("source", r.source),
      row(`fired for (${r.regime})`, ...fired)));
  }

  function onRulesClick(ev) {
    const node = ev.target.closest("g.node");
    if (!node) return;
    const title = node.querySelector("title");
    const name = title ? title.textContent : "";
    if (name.startsWith("e:")) {
      showGroup(name);
    } else if (name.startsWith("r:")) {
      showRule(name);
    } else if (name.startsWith("p:")) {
      $("#focus").value = name.slice(2);
      loadRules();
    }
  }

  // ---- start -----------------------------------------------------------------------

  function translate() {
    document.documentElement.lang = S.lang === "zh" ? "zh" : "en";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  }

  async function start() {
    let data;
    try {
      const res = await fetch("/api/init");
      data = await res.json();
    } catch (err) {
      setStatus("the server cannot be reached", "error");
      return;
    }
    S.doc = data.document;
    S.choices = data.choices;
    S.memo = data.memo;
    S.rulesFocus = data.rules.focus;
    $("#depth").value = String(data.rules.depth);
    $("#source").textContent = data.source.split("/").pop();
    $("#source").title = data.source;
    renderForm();
    $("#facts").addEventListener("change", onChange);
    $("#facts").addEventListener("click", onClick);
    $("#regime").addEventListener("change", onChange);
    $("#lang").addEventListener("change", () => {
      S.lang = $("#lang").value;
      translate();
      renderForm();
      schedule();
    });
    $("#decisions tbody").addEventListener("click", (ev) => {
      const row = ev.target.closest("tr[data-tx]");
      if (row && row.dataset.tx !== S.tx) {
        S.tx = row.dataset.tx;
        schedule();
      }
    });
    $("#rule-info").addEventListener("click", (ev) => {
      const r = ev.target.closest("[data-rule]");
      if (r) {
        showRule(r.dataset.rule);
        return;
      }
      const b = ev.target.closest("[data-select-tx]");
      if (b) {
        S.tx = b.dataset.selectTx;
        schedule();
      }
    });
    $("#rules").addEventListener("click", onRulesClick);
    $("#level").addEventListener("change", schedule);
    $("#focus").addEventListener("change", loadRules);
    $("#depth").addEventListener("change", loadRules);
    $("#fit").addEventListener("click", () => {
      S.fit = !S.fit;
      $("#proof").classList.toggle("fit", S.fit);
      $("#fit").setAttribute("aria-pressed", String(S.fit));
    });
    decide();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
