// gpt-scenes interactive page: draws the sections of one scene's page from the numbers
// embedded in it (<script id="page-data" type="application/json">), with d3 (copied next to
// the page). No network. window.gptPages exposes the state for tests and for the console.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("page-data").textContent);
  const G = (window.gptPages = { data: D, updateMs: [] });
  const fmt = (x, d) => (x === null || x === undefined ? "–" : Number(x).toFixed(d === undefined ? 4 : d));
  const pct = (p) => (p >= 0.0995 ? (100 * p).toFixed(1) : (100 * p).toPrecision(2)) + "%";
  const vis = (s) => s.replace(/ /g, "\u2423").replace(/\n/g, "\u21b5");

  function decode(a) {
    if (!a) return null;
    const bin = atob(a.b64), buf = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    let x;
    if (a.dtype === "f32") x = new Float32Array(buf.buffer);
    else if (a.dtype === "f64") x = new Float64Array(buf.buffer);
    else if (a.dtype === "i32") x = new Int32Array(buf.buffer);
    else x = buf;
    if (a.scale !== undefined) x = Float64Array.from(x, (v) => v * a.scale);
    x.shape = a.shape;
    return x;
  }
  G.decode = decode;

  // ------------------------------------------------------------------ tooltip + readouts
  const tip = d3.select("body").append("div").attr("class", "tip").style("opacity", 0);
  let hovered = null;       // the element under the mouse: its readout follows redraws
  function show(h) {
    const s = h.text(h.d, h.el);
    tip.text(s);
    if (h.readout) h.readout.text(s).attr("data-value", h.d && h.d.v !== undefined ? h.d.v : null);
  }
  function hover(sel, text, readout) {
    sel.on("mouseenter", function (ev, d) {
      hovered = { el: this, d, text, readout };
      tip.style("opacity", 1);
      show(hovered);
    }).on("mousemove", (ev) => tip.style("left", ev.pageX + 14 + "px").style("top", ev.pageY + 10 + "px"))
      .on("mouseleave", () => { hovered = null; tip.style("opacity", 0); });
  }
  const rehover = () => hovered && show(hovered);
  function section(key, title, blurb) {
    const s = d3.select("#sections").append("section").attr("id", key);
    s.append("h2").text(title);
    if (blurb) s.append("p").attr("class", "blurb").text(blurb);
    return s;
  }
  const COLORS = {};
  const css = (v) => COLORS[v] || (COLORS[v] = getComputedStyle(document.documentElement).getPropertyValue(v).trim());

  // ------------------------------------------------------------------ tokens
  function tokens() {
    const T = D.tokens, ids = decode(T.ids);
    const s = section("tokens", "Tokens", `“${T.prompt}” → ${T.pieces.length} tokens of ${T.model} ` +
      `(vocabulary ${T.vocab.toLocaleString()}; ${T.n_layer} layers, ${T.n_head} heads, d_model ${T.d_model}). ␣ marks a space.`);
    const row = s.append("div").attr("class", "chips");
    const chip = row.selectAll("div").data(T.pieces.map((p, i) => ({ p, id: ids[i], i })))
      .join("div").attr("class", "chip").attr("data-id", (d) => d.id);
    chip.append("span").attr("class", "piece").text((d) => vis(d.p));
    chip.append("span").attr("class", "tid").text((d) => d.id);
    chip.append("span").attr("class", "pos").text((d) => "pos " + d.i);
  }

  // ------------------------------------------------------------------ heat map helper
  function heatmap(parent, rows, cols, cell, opts) {
    const cw = opts.cw || 26, ch = opts.ch || 22, left = opts.left || 110, top = opts.top || 70;
    const svg = parent.append("svg").attr("width", left + cols.length * cw + 10).attr("height", top + rows.length * ch + 10);
    const g = svg.append("g").attr("transform", `translate(${left},${top})`);
    g.selectAll("text.row").data(rows).join("text").attr("class", "lab").attr("x", -6)
      .attr("y", (d, i) => i * ch + ch * 0.68).attr("text-anchor", "end").text((d) => d);
    g.selectAll("text.col").data(cols).join("text").attr("class", "lab")
      .attr("transform", (d, j) => `translate(${j * cw + cw * 0.6},-6) rotate(-55)`).text((d) => d);
    const data = [];
    rows.forEach((_, i) => cols.forEach((_, j) => data.push({ i, j })));
    const rects = g.selectAll("rect.cell").data(data).join("rect").attr("class", "cell " + (opts.cls || ""))
      .attr("x", (d) => d.j * cw).attr("y", (d) => d.i * ch).attr("width", cw < 4 ? cw : cw - 1).attr("height", ch - 1)
      .attr("data-i", (d) => d.i).attr("data-j", (d) => d.j);
    const update = () => rects.each(function (d) { cell(d); }).attr("fill", (d) => d.fill)
      .attr("data-v", (d) => d.v);
    update();
    return { svg, g, rects, update, cw, ch };
  }

  // ------------------------------------------------------------------ attention
  function attention() {
    const A = D.attention, P = decode(A.pattern), S = decode(A.scores);
    const [L, H, Q, K] = P.shape, toks = D.tokens.pieces.map(vis);
    const s = section("attention", "Attention: pick a layer and a head",
      `The pattern of one head: row = the attending (query) token, column = the token it reads (key); ` +
      `each row sums to 1, keys after the query are masked; colour ∝ √weight (small weights stay visible; hover for the value). The video showed layer ${A.layer}, head ${A.head} ` +
      `(the largest head-choice score below) and the row of “${toks[A.query]}” (▸). Click a score cell or use the menus.`);
    const ctl = s.append("div").attr("class", "controls");
    ctl.append("label").text("layer ");
    const lsel = ctl.append("select").attr("id", "att-layer");
    lsel.selectAll("option").data(d3.range(L)).join("option").attr("value", (d) => d).text((d) => d);
    ctl.append("label").text(" head ");
    const hsel = ctl.append("select").attr("id", "att-head");
    hsel.selectAll("option").data(d3.range(H)).join("option").attr("value", (d) => d).text((d) => d);
    const title = ctl.append("span").attr("class", "now").attr("id", "att-title");
    const wrap = s.append("div").attr("class", "row");
    const left = wrap.append("div"), right = wrap.append("div");
    const readout = s.append("p").attr("class", "readout").attr("id", "att-readout").text("hover a cell");
    const state = { l: A.layer, h: A.head };
    const col = d3.scaleSequential(d3.interpolateInferno).domain([0, 1]);
    const hm = heatmap(left, toks.map((t, i) => (i === A.query ? "▸ " : "") + t), toks, (d) => {
      if (d.j > d.i) { d.fill = css("--masked"); d.v = 0; return; }
      d.v = P[((state.l * H + state.h) * Q + d.i) * K + d.j];
      d.fill = col(Math.sqrt(d.v));
    }, { cw: 30, ch: 26, left: 120, top: 90, cls: "pat" });
    hover(hm.rects, (d) => d.j > d.i ? `masked: “${toks[d.i]}” cannot read the later “${toks[d.j]}”` :
      `layer ${state.l}, head ${state.h}: “${toks[d.i]}” (pos ${d.i}) → “${toks[d.j]}” (pos ${d.j}): ${fmt(d.v, 4)}`, readout);
    right.append("p").attr("class", "small").text("Head-choice score: the attention that positions ≥ 3 " +
      "send to other earlier words (not the first token, not itself, not the previous token), averaged.");
    const smax = d3.max(S);
    const sc = d3.scaleSequential(d3.interpolateViridis).domain([0, smax || 1]);
    const shm = heatmap(right, d3.range(L).map((l) => "layer " + l), d3.range(H).map((h) => "h" + h), (d) => {
      d.v = S[d.i * H + d.j]; d.fill = sc(d.v);
    }, { cw: 20, ch: Math.max(8, Math.min(16, Math.floor(520 / L))), left: 70, top: 30, cls: "score" });
    shm.rects.attr("id", (d) => `score-${d.i}-${d.j}`).style("cursor", "pointer")
      .attr("stroke", (d) => (d.i === A.layer && d.j === A.head ? css("--highlight") : null)).attr("stroke-width", 2)
      .on("click", (ev, d) => G.pickHead(d.i, d.j));
    hover(shm.rects, (d) => `layer ${d.i}, head ${d.j}: score ${fmt(d.v, 4)}` +
      (d.i === A.layer && d.j === A.head ? " (the video's head)" : ""), readout);
    const sel = shm.g.append("rect").attr("fill", "none").attr("stroke", css("--text")).attr("stroke-width", 2)
      .attr("width", shm.cw - 1).attr("height", shm.ch - 1).attr("pointer-events", "none");
    G.pickHead = function (l, h) {
      state.l = +l; state.h = +h;
      lsel.property("value", state.l); hsel.property("value", state.h);
      hm.update();
      rehover();
      sel.attr("x", state.h * shm.cw).attr("y", state.l * shm.ch);
      title.text(`layer ${state.l}, head ${state.h} (reads kv head ${Math.floor(state.h / (H / A.n_kv_head))}); ` +
        `score ${fmt(S[state.l * H + state.h], 3)}` + (state.l === A.layer && state.h === A.head ? " — the video's head" : ""));
      G.attention = { layer: state.l, head: state.h };
    };
    lsel.on("change", () => G.pickHead(lsel.property("value"), state.h));
    hsel.on("change", () => G.pickHead(state.l, hsel.property("value")));
    G.pickHead(state.l, state.h);
  }

  // ------------------------------------------------------------------ bar chart helper
  function barChart(parent, labels, opts) {
    const w = opts.width || 520, bh = opts.bh || 18, left = opts.left || 120, n = labels.length;
    const svg = parent.append("svg").attr("width", left + w + 90).attr("height", n * (bh + 4) + 24);
    const g = svg.append("g").attr("transform", `translate(${left},4)`);
    g.selectAll("text.lab").data(labels).join("text").attr("class", "lab").attr("x", -6)
      .attr("y", (d, i) => i * (bh + 4) + bh * 0.72).attr("text-anchor", "end").text((d) => d);
    const ghost = g.selectAll("rect.ghost").data(labels).join("rect").attr("class", "ghost")
      .attr("y", (d, i) => i * (bh + 4)).attr("height", bh).attr("fill", "none");
    const bars = g.selectAll("rect.bar").data(labels.map((l, i) => ({ i, l }))).join("rect").attr("class", "bar")
      .attr("y", (d) => d.i * (bh + 4)).attr("height", bh);
    const vals = g.selectAll("text.val").data(labels).join("text").attr("class", "val")
      .attr("y", (d, i) => i * (bh + 4) + bh * 0.72);
    const x = d3.scaleLinear().range([0, w]);
    function update(values, color, domain, label, before) {
      x.domain(domain);
      const z = x(0);
      bars.each(function (d) { d.v = values[d.i]; })
        .attr("x", (d) => Math.min(z, x(d.v))).attr("width", (d) => Math.max(1, Math.abs(x(d.v) - z)))
        .attr("fill", (d) => (typeof color === "function" ? color(d) : color)).attr("data-v", (d) => d.v);
      vals.attr("x", (d, i) => Math.max(z, x(values[i])) + 4).text((d, i) => label(values[i], i));
      ghost.attr("x", (d, i) => (before ? Math.min(z, x(before[i])) : 0))
        .attr("width", (d, i) => (before ? Math.max(1, Math.abs(x(before[i]) - z)) : 0))
        .attr("stroke", before ? css("--dim") : "none").attr("stroke-dasharray", "3,2");
    }
    return { svg, g, bars, update };
  }

  // ------------------------------------------------------------------ MLP + ablation
  function mlp() {
    const M = D.mlp, attn = decode(M.attn), mlpv = decode(M.mlp);
    const attn2 = decode(M.after.attn), mlp2 = decode(M.after.mlp);
    const n = attn.length, ans = vis(M.answer);
    const s = section("mlp", `MLP: direct pushes on “${ans}” and the ablation`,
      `Each block's attention and MLP write, read through the final norm (its scale frozen at the real ` +
      `value) and the unembedding, add this much to the logit of “${ans}” at the last position ` +
      `(direct effects only). embedding ${fmt(M.embed, 3)} + Σ attention + Σ MLP + bias ${fmt(M.bias, 3)} ` +
      `= logit ${fmt(M.logit, 3)}. The video's layer: ${M.layer}.`);
    const ctl = s.append("div").attr("class", "controls");
    ctl.append("label").text("run: ");
    const runs = ctl.selectAll("button").data(["plain run", "changed run"]).join("button")
      .attr("id", (d, i) => (i ? "mlp-after" : "mlp-before")).text((d) => d);
    ctl.append("span").attr("class", "now").attr("id", "mlp-title");
    const readout = s.append("p").attr("class", "readout").attr("id", "mlp-readout").text("hover a bar");
    const wrap = s.append("div").attr("class", "row");
    const labels = [];
    for (let l = 0; l < n; l++) labels.push(`attn ${l}`, `MLP ${l}`);
    const chart = barChart(wrap.append("div"), labels, { width: 360, bh: 9, left: 70 });
    chart.svg.selectAll("text.lab").style("font-size", "9px");
    const right = wrap.append("div");
    right.append("h3").text("Next-token probabilities");
    const ids = M.id_strs.map(vis), pb = decode(M.p_before), pa = decode(M.p_after);
    const probs = barChart(right, ids, { width: 260, bh: 18, left: 110 });
    right.append("p").attr("class", "small").text("Changed run: " + M.ablation + ".");
    right.append("h3").text(`Layer ${M.layer}: neurons' direct pushes`);
    const np = decode(M.neuron_push);
    const nb = barChart(right, M.neurons.map((i) => "#" + i + (M.top.includes(i) ? " *" : "")), { width: 220, bh: 14, left: 70 });
    nb.update(np, (d) => (np[d.i] >= 0 ? css("--positive") : css("--negative")), d3.extent([0, ...np]), (v) => fmt(v, 3));
    right.append("p").attr("class", "small").text("* = the neurons the video shows and the changed run ablates.");
    const all = [...attn, ...mlpv, ...attn2, ...mlp2];
    const dom = d3.extent([0, ...all]);
    G.showRun = function (after) {
      const a = after ? attn2 : attn, m = after ? mlp2 : mlpv, vals = [];
      for (let l = 0; l < n; l++) vals.push(a[l], m[l]);
      const before = [];
      for (let l = 0; l < n; l++) before.push(attn[l], mlpv[l]);
      chart.update(vals, (d) => (d.i === 2 * M.layer + 1 ? css("--highlight") : d.i % 2 ? css("--positive") : css("--key")),
        dom, (v) => fmt(v, 2), after ? before : null);
      probs.update(after ? pa : pb, (d) => (d.i === 0 ? css("--highlight") : css("--positive")), [0, 1],
        (v) => pct(v), after ? pb : null);
      runs.classed("on", (d, i) => !!i === !!after);
      d3.select("#mlp-title").text(after ? `changed run: logit of “${ans}” ${fmt(M.logit, 3)} → ${fmt(M.after.logit, 3)} (dashed: plain run)`
        : `plain run: logit of “${ans}” ${fmt(M.logit, 3)}`);
      G.mlpRun = after ? "changed" : "plain";
      rehover();
    };
    hover(chart.bars, (d) => `${labels[d.i]}: direct push ${fmt(d.v, 4)} on “${ans}”`, readout);
    hover(probs.bars, (d) => `“${ids[d.i]}”: p = ${fmt(d.v, 6)}`, readout);
    hover(nb.bars, (d) => `neuron ${M.neurons[d.i]}: push ${fmt(d.v, 4)}`, readout);
    runs.on("click", (ev, d) => G.showRun(d === "changed run"));
    G.showRun(false);
  }

  // ------------------------------------------------------------------ logit lens
  function lens() {
    const Z = D.lens, top = decode(Z.top), pt = decode(Z.p_top), pa = decode(Z.p_answer), rk = decode(Z.rank);
    const [R, C] = top.shape, toks = D.tokens.pieces.map(vis), ans = vis(Z.answer);
    const rows = d3.range(R).map((l) => (l === 0 ? "embedding" : `after block ${l - 1}`) + (Z.video_rows.includes(l) ? " ▸" : ""));
    const s = section("lens", "Logit lens: what each layer would predict",
      `The final norm and the unembedding applied to the residual stream after every block: each cell ` +
      `is the top next-token guess at that position, coloured by its probability. ▸ marks the rows the video shows.`);
    const readout = s.append("p").attr("class", "readout").attr("id", "lens-readout").text("hover a cell");
    const wrap = s.append("div").attr("class", "row");
    const col = d3.scaleSequential(d3.interpolateRgb(css("--neutral"), css("--positive"))).domain([0, 1]);
    const hm = heatmap(wrap.append("div"), rows, toks, (d) => {
      d.v = pt[d.i * C + d.j]; d.id = top[d.i * C + d.j]; d.fill = col(d.v);
    }, { cw: 74, ch: 15, left: 140, top: 80 });
    hm.g.selectAll("text.tok").data(hm.rects.data()).join("text").attr("class", "tok")
      .attr("x", (d) => d.j * hm.cw + 3).attr("y", (d) => d.i * hm.ch + hm.ch * 0.72)
      .text((d) => vis(Z.strs[d.id]).slice(0, 9)).attr("fill", (d) => (d.v > 0.6 ? "#111" : css("--text")));
    hm.g.selectAll("text.tok").attr("pointer-events", "none");
    hover(hm.rects, (d) => `${rows[d.i].replace(" ▸", "")}, position ${d.j} (“${toks[d.j]}”): top “${vis(Z.strs[d.id])}” ` +
      `(id ${d.id}) p = ${fmt(d.v, 4)}`, readout);
    const right = wrap.append("div");
    right.append("h3").text(`“${ans}” at the last position, layer by layer`);
    const b = barChart(right, rows, { width: 220, bh: 11, left: 120 });
    b.svg.selectAll("text.lab").style("font-size", "10px");
    b.update(pa, css("--positive"), [0, 1], (v, i) => `${pct(v)} (rank ${rk[i]})`);
    hover(b.bars, (d) => `${rows[d.i]}: p(“${ans}”) = ${fmt(d.v, 6)}, rank ${rk[d.i]}`, readout);
  }

  // ------------------------------------------------------------------ softmax with temperature
  function softmax() {
    const S = D.softmax, z = decode(S.logits), V = z.length, strs = S.strs.map(vis);
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (z[i] > m) m = z[i];
    const s = section("softmax", "Softmax with temperature",
      `p = softmax(z / T) over all ${V.toLocaleString()} real logits of the last position, recomputed here at ` +
      `every move of the slider (log-sum-exp, max subtracted). The greedy token (the argmax) is the same at every T.`);
    const ctl = s.append("div").attr("class", "controls");
    ctl.append("label").text("T ");
    const slider = ctl.append("input").attr("type", "range").attr("id", "temp").attr("min", -1.3).attr("max", 1.3)
      .attr("step", "any").attr("value", 0).style("width", "360px");
    const tval = ctl.append("span").attr("class", "now").attr("id", "temp-value");
    ctl.append("span").text("  the video's T: ");
    ctl.selectAll("button.t").data(S.temps).join("button").attr("class", "t").text((d) => d)
      .on("click", (ev, d) => G.setTemperature(d));
    const readout = s.append("p").attr("class", "readout").attr("id", "soft-readout").text("hover a bar");
    const labels = [...strs.map((t, i) => t + (S.ids[i] === S.greedy ? "  ◀ greedy" : "")), "all other tokens"];
    const chart = barChart(s, labels, { width: 420, bh: 20, left: 170 });
    hover(chart.bars, (d) => `${labels[d.i]}: p = ${fmt(d.v, 8)}`, readout);
    const timing = s.append("p").attr("class", "small").attr("id", "temp-timing");
    const on = new Set(S.ids), e = new Float64Array(V), gi = S.ids.indexOf(S.greedy);
    G.softmax = function (T) {               // p = exp(z / T − logsumexp(z / T)), every token
      let sum = 0;
      for (let i = 0; i < V; i++) sum += (e[i] = Math.exp((z[i] - m) / T));
      const lse = Math.log(sum), p = new Float64Array(V);
      for (let i = 0; i < V; i++) p[i] = Math.exp((z[i] - m) / T - lse);
      return p;
    };
    G.setTemperature = function (T) {
      const t0 = performance.now();
      let sum = 0;                            // one pass of exp over the vocabulary
      for (let i = 0; i < V; i++) sum += (e[i] = Math.exp((z[i] - m) / T));
      const lse = Math.log(sum);
      const shown = S.ids.map((i) => Math.exp((z[i] - m) / T - lse));
      let restE = sum;
      S.ids.forEach((i) => (restE -= e[i]));
      shown.push(Math.max(0, restE) / sum);
      chart.update(shown, (d) => (d.i === gi ? css("--highlight") : d.i === shown.length - 1 ? css("--dim") : css("--positive")),
        [0, 1], (v) => pct(v));
      slider.property("value", Math.log10(T));
      tval.text(`T = ${T.toPrecision(3)}`).attr("data-t", T);
      G.temperature = T; G.shown = shown;
      rehover();
      const dt = performance.now() - t0;
      G.updateMs.push(dt);
      timing.text(`last update ${dt.toFixed(2)} ms (softmax over ${V.toLocaleString()} logits and redraw)`);
    };
    slider.on("input", () => G.setTemperature(Math.pow(10, +slider.property("value"))));
    G.setTemperature(1.0);
  }

  // ------------------------------------------------------------------ embedding space (3D PCA)
  function space() {
    const E = D.space, X = decode(E.coords), ev = decode(E.explained), n = E.words.length;
    const s = section("space", "Embedding space: 3D PCA, drag to rotate",
      `${E.title}: the scene's words projected on their 3 principal components ` +
      `(${(100 * ev[0]).toFixed(0)}%, ${(100 * ev[1]).toFixed(0)}%, ${(100 * ev[2]).toFixed(0)}% of their variance). ` +
      `Arrows: b → a and c → a − b + c (projected; the nearest tokens by cosine are listed).`);
    const readout = s.append("p").attr("class", "readout").attr("id", "space-readout").text("hover a point");
    const W = 560, Hh = 460;
    const svg = s.append("svg").attr("width", W).attr("height", Hh).attr("id", "space-svg").style("cursor", "grab");
    const g = svg.append("g").attr("transform", `translate(${W / 2},${Hh / 2})`);
    const pts = d3.range(n).map((i) => ({ i, label: vis(E.labels[i]), p: [X[3 * i], X[3 * i + 1], X[3 * i + 2]] }));
    const ans = E.analogies.map((a) => ({ ...a, q: Array.from(decode(a.point)) }));
    let r = 0;
    pts.forEach((d) => (r = Math.max(r, Math.hypot(...d.p))));
    ans.forEach((a) => (r = Math.max(r, Math.hypot(...a.q))));
    const k = 180 / (r || 1);
    const view = { yaw: 0.6, pitch: 0.35 };
    const proj = (p) => {
      const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
      const x1 = cy * p[0] + sy * p[2], z1 = -sy * p[0] + cy * p[2];
      const y2 = cp * p[1] - sp * z1, z2 = sp * p[1] + cp * z1;
      return [k * x1, -k * y2, z2];
    };
    const axes = g.append("g"), arrows = g.append("g"), dots = g.append("g");
    svg.append("defs").append("marker").attr("id", "arrow").attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
      .attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto")
      .append("path").attr("d", "M0,0L10,5L0,10z").attr("fill", css("--highlight"));
    const pos = (i) => pts.find((d) => d.i === i);
    const keyIdx = (key) => E.keys.indexOf(key);
    G.draw3d = function () {
      const ax = [[1, 0, 0], [0, 1, 0], [0, 0, 1]].map((e, j) => ({ j, a: proj(e.map((v) => -v * r)), b: proj(e.map((v) => v * r)) }));
      axes.selectAll("line").data(ax).join("line").attr("x1", (d) => d.a[0]).attr("y1", (d) => d.a[1])
        .attr("x2", (d) => d.b[0]).attr("y2", (d) => d.b[1]).attr("stroke", css("--neutral")).attr("stroke-width", 1.5);
      axes.selectAll("text").data(ax).join("text").attr("class", "lab").attr("x", (d) => d.b[0]).attr("y", (d) => d.b[1])
        .text((d) => "PC" + (d.j + 1));
      const segs = [];
      ans.forEach((a, ai) => {
        const [ia, ib, ic] = a.keys.map(keyIdx);
        if (ia >= 0 && ib >= 0) segs.push({ ai, from: pts[ib].p, to: pts[ia].p, dash: "4,3" });
        if (ic >= 0) segs.push({ ai, from: pts[ic].p, to: a.q, dash: null });
      });
      arrows.selectAll("line").data(segs).join("line").attr("stroke", css("--highlight")).attr("stroke-width", 2)
        .attr("stroke-dasharray", (d) => d.dash).attr("marker-end", "url(#arrow)")
        .attr("x1", (d) => proj(d.from)[0]).attr("y1", (d) => proj(d.from)[1])
        .attr("x2", (d) => proj(d.to)[0]).attr("y2", (d) => proj(d.to)[1]);
      const all = [...pts.map((d) => ({ ...d, kind: "word", v: d.p })),
        ...ans.map((a, ai) => ({ i: "a" + ai, label: `${a.a} − ${a.b} + ${a.c}`, p: a.q, kind: "analogy", a }))]
        .map((d) => ({ ...d, s: proj(d.p) })).sort((u, v) => u.s[2] - v.s[2]);
      const gs = dots.selectAll("g.pt").data(all, (d) => d.i).join((en) => {
        const e = en.append("g").attr("class", "pt");
        e.append("circle").attr("r", 6);
        e.append("text").attr("class", "lab").attr("dx", 9).attr("dy", 4);
        return e;
      }).attr("transform", (d) => `translate(${d.s[0]},${d.s[1]})`).order();
      gs.select("circle").attr("fill", (d) => (d.kind === "word" ? css("--positive") : css("--highlight")))
        .attr("opacity", (d) => 0.55 + 0.45 * (d.s[2] / (r * 1.8) + 0.5));
      gs.select("text").text((d) => d.label);
      hover(gs, (d) => d.kind === "word" ? `${d.label}: PC1 ${fmt(d.p[0], 3)}, PC2 ${fmt(d.p[1], 3)}, PC3 ${fmt(d.p[2], 3)}` :
        `${d.label} → nearest: ` + d.a.top.map((t) => `${vis(t[1])} ${fmt(t[2], 3)}`).join(", ") +
        (d.a.expected ? ` (“${d.a.expected}” rank ${d.a.expected_rank})` : ""), readout);
      G.view = { ...view };
    };
    svg.call(d3.drag().on("drag", (ev) => { view.yaw += ev.dx * 0.01; view.pitch += ev.dy * 0.01; G.draw3d(); }));
    G.rotate = (yaw, pitch) => { view.yaw = yaw; view.pitch = pitch; G.draw3d(); };
    const list = s.append("div").attr("class", "small");
    ans.forEach((a) => list.append("p").text(`${a.a} − ${a.b} + ${a.c} ≈ ` +
      a.top.map((t) => `${vis(t[1])} (${fmt(t[2], 3)})`).join(", ") +
      (a.expected ? `; “${a.expected}”: rank ${a.expected_rank}, cosine ${fmt(a.expected_cos, 3)}` : "")));
    G.draw3d();
  }

  // ------------------------------------------------------------------ block writes, embedding rows
  function writes() {
    const W = D.writes, N = decode(W.norms), L = N.shape[0];
    const s = section("writes", "How much each block writes", `‖attention output‖ and ‖MLP output‖ of every block at the last position (pos ${W.pos}).`);
    const readout = s.append("p").attr("class", "readout").attr("id", "writes-readout").text("hover a bar");
    const labels = [];
    for (let l = 0; l < L; l++) labels.push(`attn ${l}`, `MLP ${l}`);
    const b = barChart(s, labels, { width: 420, bh: 9, left: 70 });
    b.svg.selectAll("text.lab").style("font-size", "9px");
    b.update(Array.from(N), (d) => (d.i % 2 ? css("--positive") : css("--key")), [0, d3.max(N)], (v) => fmt(v, 1));
    hover(b.bars, (d) => `${labels[d.i]}: ‖write‖ = ${fmt(d.v, 4)}`, readout);
  }
  function embed() {
    const E = D.embed, R = decode(E.rows), [P, dm] = R.shape, toks = D.tokens.pieces.map(vis);
    const mags = Array.from(R, Math.abs).sort((a, b) => a - b), mx = mags[Math.floor(0.98 * (mags.length - 1))] || 1;
    const s = section("embed", "Embedding rows", `Each token's row of W_E (${dm} numbers; what block 0 receives` +
      (E.pos_embed ? ", plus a learned position row)" : "; this model adds no position row)") +
      `. Blue positive, red negative; colours saturate at ±${fmt(mx, 3)} (the 98th percentile of |value|), hover for the value.`);
    const readout = s.append("p").attr("class", "readout").attr("id", "embed-readout").text("hover a cell");
    const col = d3.scaleDiverging(d3.piecewise(d3.interpolateRgb, [css("--negative"), css("--neutral"), css("--positive")]))
      .domain([-mx, 0, mx]).clamp(true);
    const hm = heatmap(s.append("div").style("overflow-x", "auto"), toks, d3.range(dm).map(() => ""), (d) => {
      d.v = R[d.i * dm + d.j]; d.fill = col(d.v);
    }, { cw: 2, ch: 22, left: 120, top: 10 });
    hover(hm.rects, (d) => `“${toks[d.i]}” dim ${d.j}: ${fmt(d.v, 5)}`, readout);
  }

  const DRAW = { tokens, attention, mlp, lens, softmax, space, writes, embed };
  D.sections.forEach((k) => DRAW[k]());
  const notes = d3.select("#notes");
  D.notes.forEach((t) => notes.append("li").text(t));
  G.ready = true;
})();
