/* The report's map of every image (twigma.present.map_page writes the page and its data).
 *
 * Reads the page's JSON data, then draws, for the chosen clusters and months: a density image of every
 * image (a canvas turned into a data: URL, laid under the axes) and the seeded sample's points (WebGL
 * scattergl), whose hover label shows each caption as text. Captions and labels reach the page through
 * textContent only; in the hover label, which plotly.js reads as a small HTML (<b>, <a href>, <br>),
 * "&", "<" and ">" are written as entities, which it shows as those characters.
 */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("twigma-map-data").textContent);
  const gd = document.getElementById("twigma-map");
  const S = data.sample;
  const B = data.bins;
  const M = data.months.length;

  function bytes(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }
  const cells = new Uint16Array(bytes(data.density.cells));
  const offsets = new Int32Array(bytes(data.density.offsets));
  const sx = new Float32Array(bytes(S.x));
  const sy = new Float32Array(bytes(S.y));
  const sCluster = new Uint16Array(bytes(S.cluster));
  const sMonth = new Uint16Array(bytes(S.month));
  const sDay = new Int32Array(bytes(S.day));
  const sLikes = new Int32Array(bytes(S.likes));
  const rgb = data.clusters.map((c) => [1, 3, 5].map((i) => parseInt(c.colour.slice(i, i + 2), 16)));
  const number = (n) => n.toLocaleString("en-US");

  // plotly.js's hover text is its own small HTML: entities keep a caption's characters as text
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function lines(text, width) {
    const out = [];
    let line = "";
    for (const word of String(text).split(" ")) {
      for (let w = word; w.length; w = w.slice(width)) {
        const piece = w.slice(0, width);
        if (line && line.length + 1 + piece.length > width) { out.push(line); line = ""; }
        line = line ? line + " " + piece : piece;
      }
    }
    if (line) out.push(line);
    return out;
  }
  const date = (i) => new Date(sDay[i] * 86400000).toISOString().slice(0, 10);
  const likes = (i) => (sLikes[i] < 0 ? "likes unknown" : number(sLikes[i]) + (sLikes[i] === 1 ? " like" : " likes"));
  const hover = Array.from({length: S.n}, (_, i) =>
    lines(S.caption[i], 60).map(esc).concat([esc(date(i) + " · " + likes(i)),
                                             esc("cluster " + data.clusters[sCluster[i]].label)]).join("<br>"));

  // the filters: a checkbox per cluster (its colour beside it), a month range
  const boxes = data.clusters.map((c, k) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.checked = true;
    input.dataset.cluster = String(k);
    const swatch = document.createElement("span");
    swatch.className = "twigma-swatch";
    swatch.style.background = c.colour;
    label.append(input, swatch, document.createTextNode(c.label));
    document.getElementById("twigma-clusters").append(label);
    input.addEventListener("change", redraw);
    return input;
  });
  const from = document.getElementById("twigma-from");
  const to = document.getElementById("twigma-to");
  for (const select of [from, to]) {
    data.months.forEach((m, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = m;
      select.append(option);
    });
  }
  to.value = String(M - 1);
  from.addEventListener("change", () => { if (+from.value > +to.value) to.value = from.value; redraw(); });
  to.addEventListener("change", () => { if (+to.value < +from.value) from.value = to.value; redraw(); });
  document.getElementById("twigma-all").addEventListener("click", () => { boxes.forEach((b) => { b.checked = true; }); redraw(); });
  document.getElementById("twigma-none").addEventListener("click", () => { boxes.forEach((b) => { b.checked = false; }); redraw(); });

  function chosen() {
    return {clusters: boxes.map((b) => b.checked), lo: +from.value, hi: +to.value};
  }

  // every image of the chosen clusters and months, counted per cell and coloured by the mix of clusters
  const canvas = document.createElement("canvas");
  canvas.width = B;
  canvas.height = B;
  function density(st) {
    const total = new Float64Array(B * B);
    const mix = new Float64Array(3 * B * B);
    let shown = 0;
    st.clusters.forEach((on, k) => {
      if (!on) return;
      const [r, g, b] = rgb[k];
      for (let m = st.lo; m <= st.hi; m++) {
        const group = k * M + m;
        for (let j = offsets[group]; j < offsets[group + 1]; j++) {
          const c = cells[j];
          total[c] += 1;
          mix[3 * c] += r;
          mix[3 * c + 1] += g;
          mix[3 * c + 2] += b;
        }
        shown += offsets[group + 1] - offsets[group];
      }
    });
    let max = 0;
    for (let c = 0; c < B * B; c++) if (total[c] > max) max = total[c];
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(B, B);
    for (let c = 0; c < B * B; c++) {
      const t = total[c];
      if (!t) continue;
      const p = 4 * ((B - 1 - Math.floor(c / B)) * B + (c % B));  // row 0 of the grid is the lowest y
      image.data[p] = mix[3 * c] / t;
      image.data[p + 1] = mix[3 * c + 1] / t;
      image.data[p + 2] = mix[3 * c + 2] / t;
      image.data[p + 3] = Math.round(255 * (0.15 + 0.85 * Math.sqrt(Math.log1p(t) / Math.log1p(max))));
    }
    ctx.putImageData(image, 0, 0);
    return {url: canvas.toDataURL("image/png"), shown: shown};
  }

  // the sample's points of the chosen clusters and months: one trace per cluster, in its colour, drawn with
  // WebGL where the browser has it (every current one does) and as SVG otherwise (slower, but drawn)
  const webgl = (() => {
    try { return !!document.createElement("canvas").getContext("webgl"); } catch (e) { return false; }
  })();
  function traces(st) {
    const rows = data.clusters.map(() => []);
    for (let i = 0; i < S.n; i++) {
      const k = sCluster[i];
      if (st.clusters[k] && sMonth[i] >= st.lo && sMonth[i] <= st.hi) rows[k].push(i);
    }
    return rows.map((idx, k) => ({
      type: webgl ? "scattergl" : "scatter", mode: "markers", name: esc(data.clusters[k].label),
      x: Float32Array.from(idx, (i) => sx[i]), y: Float32Array.from(idx, (i) => sy[i]),
      hovertext: idx.map((i) => hover[i]), customdata: idx, hoverinfo: "text",
      marker: {size: S.n > 10000 ? 3 : 5, color: data.clusters[k].colour, opacity: 0.9,
               line: {width: 0.5, color: "#222"}},
      hoverlabel: {bgcolor: "white", bordercolor: data.clusters[k].colour, font: {color: "#111"}, align: "left"},
    }));
  }

  const [x0, x1, y0, y1] = data.extent;
  function layout(url) {
    return {
      uirevision: "map", showlegend: false, hovermode: "closest", dragmode: "zoom",
      margin: {l: 56, r: 16, t: 8, b: 48}, plot_bgcolor: "white",
      xaxis: {range: [x0, x1], title: {text: "UMAP_dim_1"}, showgrid: false, zeroline: false},
      yaxis: {range: [y0, y1], title: {text: "UMAP_dim_2"}, showgrid: false, zeroline: false},
      images: [{source: url, xref: "x", yref: "y", x: x0, y: y1, sizex: x1 - x0, sizey: y1 - y0,
                sizing: "stretch", layer: "below", xanchor: "left", yanchor: "top"}],
    };
  }

  const status = document.getElementById("twigma-status");
  function redraw() {
    const st = chosen();
    const d = density(st);
    const t = traces(st);
    const points = t.reduce((n, trace) => n + trace.x.length, 0);
    status.textContent = number(d.shown) + " of " + number(data.n_images) + " images in the density image; " +
      number(points) + " of the " + number(S.n) + " sampled points drawn (" + data.months[st.lo] + " to " +
      data.months[st.hi] + ").";
    return Plotly.react(gd, t, layout(d.url), {displaylogo: false, responsive: true, scrollZoom: true})
      .then(() => { gd.dataset.images = String(d.shown); gd.dataset.points = String(points); });
  }

  // a clicked point: its caption, date, likes and cluster as text, and its tweet's link for a real release
  const panel = document.getElementById("twigma-point");
  function show(i) {
    const heading = document.createElement("h2");
    heading.textContent = "Clicked point";
    const caption = document.createElement("p");
    caption.className = "twigma-caption";
    caption.textContent = S.caption[i];
    const about = document.createElement("p");
    about.textContent = date(i) + " · " + likes(i) + " · cluster " + data.clusters[sCluster[i]].label;
    const tweet = document.createElement("p");
    const id = S.tweet ? S.tweet[i] : "";
    if (data.tweet_url && /^[0-9]+$/.test(id)) {
      const a = document.createElement("a");
      a.href = data.tweet_url[0] + id + data.tweet_url[1];
      a.textContent = "Open the tweet";
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      tweet.append(a, document.createTextNode(" (it opens only while the tweet is online)"));
    } else {
      tweet.textContent = data.synthetic ? "No tweet: this is the synthetic sample, whose tweet ids are made up."
        : "No tweet link: the release gives no tweet id for this image.";
    }
    panel.replaceChildren(heading, caption, about, tweet);
  }

  redraw().then(() => {
    gd.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (point && Number.isInteger(point.customdata)) show(point.customdata);
    });
    gd.dataset.ready = "1";
  });
})();
