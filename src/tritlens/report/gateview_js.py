"""The gate-graph viewer's JavaScript: WebGL points and lines (canvas 2D when WebGL is missing), zoom,
pan and hover, written for this report (no library, nothing fetched). Embedded once per page.

Each ``div.tl-gates`` holds a ``canvas``, a tooltip and a ``script type=application/json`` with the data
of ``report.gates.view_payload``: node columns (x, y, module, role, id), a flat edge list, role names and
per-module sizes. Mouse wheel zooms at the pointer, dragging pans, double click resets, hovering a node
shows its name, module and role. While the view moves, frames draw the nodes and a fixed random sample of
at most ``EDGE_BUDGET`` edges (a software WebGL renderer spends most of a frame on tens of thousands of
lines); 150 ms after the last move the full graph is drawn. ``window.tlGateViews`` lists the views;
``view.benchmark(frames, interactive)`` redraws under changing zoom and returns the mean frame time
(ms), ``view.painted()`` the number of non-background pixels; the browser test reads both.
"""

GATEVIEW_JS = r"""
(function () {
  "use strict";
  var ROLE_SIZE = [2.6, 2.6, 1.0, 2.6, 1.6];  // input, latch, and, output, const (relative point size)
  var EDGE_BUDGET = 6000;  // edges drawn while the view moves

  function moduleColor(m) {
    if (m < 0) { return [0.55, 0.57, 0.62]; }
    var h = (m * 137.508) % 360 / 60, s = 0.62, l = m % 2 ? 0.42 : 0.52;
    var c = (1 - Math.abs(2 * l - 1)) * s, x = c * (1 - Math.abs(h % 2 - 1)), o = l - c / 2;
    var rgb = h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] :
              h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
    return [rgb[0] + o, rgb[1] + o, rgb[2] + o];
  }

  function GateView(root, data) {
    this.root = root; this.data = data;
    this.canvas = root.querySelector("canvas");
    this.tip = root.querySelector(".tl-gates-tip");
    var nodes = data.nodes;
    this.n = nodes.x.length; this.m = data.edges.length / 2;
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    for (var i = 0; i < this.n; i++) {
      lo[0] = Math.min(lo[0], nodes.x[i]); hi[0] = Math.max(hi[0], nodes.x[i]);
      lo[1] = Math.min(lo[1], nodes.y[i]); hi[1] = Math.max(hi[1], nodes.y[i]);
    }
    this.centre = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2];
    this.extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], 1e-6);
    this.hover = -1; this.frames = []; this.order = this.shuffledEdges();
    this.resize(); this.reset(); this.index();
    this.gl = this.canvas.getContext("webgl", {antialias: false, preserveDrawingBuffer: true});
    this.renderer = this.gl ? "webgl" : "canvas2d";
    if (this.gl) { this.setupGL(); } else { this.ctx = this.canvas.getContext("2d"); }
    this.listen();
    var t0 = performance.now(); this.draw(false); this.finish();
    this.firstDrawMs = performance.now() - t0;
  }

  GateView.prototype.resize = function () {
    var dpr = window.devicePixelRatio || 1, w = this.root.clientWidth || 800;
    var h = this.canvas.clientHeight || 560;
    this.dpr = dpr; this.w = w; this.h = h;
    this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
  };

  GateView.prototype.reset = function () {
    this.scale = 0.92 * Math.min(this.w, this.h) / this.extent; this.tx = 0; this.ty = 0;
  };

  GateView.prototype.toScreen = function (x, y) {
    return [(x - this.centre[0]) * this.scale + this.w / 2 + this.tx,
            (y - this.centre[1]) * this.scale + this.h / 2 + this.ty];
  };

  GateView.prototype.toWorld = function (sx, sy) {
    return [(sx - this.w / 2 - this.tx) / this.scale + this.centre[0],
            (sy - this.h / 2 - this.ty) / this.scale + this.centre[1]];
  };

  GateView.prototype.shuffledEdges = function () {  // a fixed permutation: any prefix is a fair sample
    var order = new Uint32Array(this.m), seed = 12345;
    for (var i = 0; i < this.m; i++) { order[i] = i; }
    for (var j = this.m - 1; j > 0; j--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      var k = seed % (j + 1), t = order[j]; order[j] = order[k]; order[k] = t;
    }
    return order;
  };

  GateView.prototype.index = function () {  // uniform grid over the nodes, for hover lookups
    var cell = this.extent / Math.max(1, Math.sqrt(this.n) / 2), grid = {};
    for (var i = 0; i < this.n; i++) {
      var key = Math.floor(this.data.nodes.x[i] / cell) + "," + Math.floor(this.data.nodes.y[i] / cell);
      (grid[key] = grid[key] || []).push(i);
    }
    this.cell = cell; this.grid = grid;
  };

  GateView.prototype.nearest = function (sx, sy) {
    var p = this.toWorld(sx, sy), reach = 9 / this.scale, best = -1, bestD = reach * reach;
    var r = Math.ceil(reach / this.cell);
    var cx = Math.floor(p[0] / this.cell), cy = Math.floor(p[1] / this.cell);
    for (var gx = cx - r; gx <= cx + r; gx++) {
      for (var gy = cy - r; gy <= cy + r; gy++) {
        var list = this.grid[gx + "," + gy];
        if (!list) { continue; }
        for (var k = 0; k < list.length; k++) {
          var i = list[k], dx = this.data.nodes.x[i] - p[0], dy = this.data.nodes.y[i] - p[1];
          if (dx * dx + dy * dy < bestD) { bestD = dx * dx + dy * dy; best = i; }
        }
      }
    }
    return best;
  };

  GateView.prototype.setupGL = function () {
    var gl = this.gl;
    function shader(type, src) {
      var s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) { throw new Error(gl.getShaderInfoLog(s)); }
      return s;
    }
    var prog = gl.createProgram();
    gl.attachShader(prog, shader(gl.VERTEX_SHADER,
      "attribute vec2 p; attribute vec4 c; attribute float s; uniform vec4 t; uniform float z;" +
      "varying vec4 v; void main() { gl_Position = vec4(p * t.xy + t.zw, 0.0, 1.0);" +
      "gl_PointSize = s * z; v = c; }"));
    gl.attachShader(prog, shader(gl.FRAGMENT_SHADER,
      "precision mediump float; varying vec4 v; void main() { gl_FragColor = v; }"));
    gl.linkProgram(prog);
    this.prog = prog;
    this.loc = {p: gl.getAttribLocation(prog, "p"), c: gl.getAttribLocation(prog, "c"),
                s: gl.getAttribLocation(prog, "s"), t: gl.getUniformLocation(prog, "t"),
                z: gl.getUniformLocation(prog, "z")};
    var nodes = this.data.nodes, n = this.n, m = this.m, e = this.data.edges;
    var pos = new Float32Array(2 * n), col = new Float32Array(4 * n), size = new Float32Array(n);
    for (var i = 0; i < n; i++) {
      pos[2 * i] = nodes.x[i]; pos[2 * i + 1] = nodes.y[i];
      var rgb = moduleColor(nodes.module[i]);
      col.set([rgb[0], rgb[1], rgb[2], 1.0], 4 * i); size[i] = ROLE_SIZE[nodes.role[i]] || 1;
    }
    var lpos = new Float32Array(4 * m), lcol = new Float32Array(8 * m), lsize = new Float32Array(2 * m);
    for (var q = 0; q < m; q++) {
      var k = this.order[q], a = e[2 * k], b = e[2 * k + 1], same = nodes.module[a] === nodes.module[b];
      var rgbE = same ? moduleColor(nodes.module[a]) : [0.45, 0.47, 0.52], alpha = same ? 0.28 : 0.10;
      lpos.set([nodes.x[a], nodes.y[a], nodes.x[b], nodes.y[b]], 4 * q);
      lcol.set([rgbE[0], rgbE[1], rgbE[2], alpha, rgbE[0], rgbE[1], rgbE[2], alpha], 8 * q);
    }
    function buffer(data) {
      var b = gl.createBuffer();
      gl.bindBuffer(gl.ARRAY_BUFFER, b); gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      return b;
    }
    this.buf = {pos: buffer(pos), col: buffer(col), size: buffer(size),
                lpos: buffer(lpos), lcol: buffer(lcol), lsize: buffer(lsize)};
  };

  GateView.prototype.bind = function (name, loc, width) {
    var gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf[name]); gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, width, gl.FLOAT, false, 0, 0);
  };

  GateView.prototype.pointScale = function () {
    var spacing = this.scale * this.extent / Math.sqrt(this.n + 1);  // screen px between neighbours
    return this.dpr * Math.max(2, Math.min(10, 2.2 * Math.sqrt(spacing / 6)));
  };

  GateView.prototype.draw = function (moving) {
    var t0 = performance.now(), edges = moving ? Math.min(this.m, EDGE_BUDGET) : this.m;
    if (this.gl) { this.drawGL(edges); } else { this.draw2d(edges); }
    this.frames.push(performance.now() - t0);
  };

  GateView.prototype.drawGL = function (edges) {
    var gl = this.gl, L = this.loc;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND); gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(this.prog);
    var sx = 2 * this.scale / this.w, sy = -2 * this.scale / this.h;
    var ox = (-this.centre[0] * this.scale + this.w / 2 + this.tx) * 2 / this.w - 1;
    var oy = 1 - (-this.centre[1] * this.scale + this.h / 2 + this.ty) * 2 / this.h;
    gl.uniform4f(L.t, sx, sy, ox, oy); gl.uniform1f(L.z, this.pointScale());
    this.bind("lpos", L.p, 2); this.bind("lcol", L.c, 4); this.bind("lsize", L.s, 1);
    gl.drawArrays(gl.LINES, 0, 2 * edges);
    this.bind("pos", L.p, 2); this.bind("col", L.c, 4); this.bind("size", L.s, 1);
    gl.drawArrays(gl.POINTS, 0, this.n);
  };

  GateView.prototype.draw2d = function (edges) {
    var ctx = this.ctx, nodes = this.data.nodes, e = this.data.edges, self = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, this.w, this.h);
    ctx.strokeStyle = "rgba(110,115,125,0.16)"; ctx.lineWidth = 0.6; ctx.beginPath();
    for (var q = 0; q < edges; q++) {
      var k = this.order[q], a = this.toScreen(nodes.x[e[2 * k]], nodes.y[e[2 * k]]);
      var b = this.toScreen(nodes.x[e[2 * k + 1]], nodes.y[e[2 * k + 1]]);
      ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
    }
    ctx.stroke();
    var r = this.pointScale() / this.dpr;
    for (var i = 0; i < this.n; i++) {
      var p = self.toScreen(nodes.x[i], nodes.y[i]), c = moduleColor(nodes.module[i]);
      var s = r * (ROLE_SIZE[nodes.role[i]] || 1);
      ctx.fillStyle = "rgb(" + Math.round(255 * c[0]) + "," + Math.round(255 * c[1]) + "," +
                      Math.round(255 * c[2]) + ")";
      ctx.fillRect(p[0] - s / 2, p[1] - s / 2, s, s);
    }
  };

  GateView.prototype.finish = function () {  // wait until the frame is really drawn: read one pixel back
    if (this.gl) { this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, new Uint8Array(4)); }
  };

  GateView.prototype.request = function () {  // a light frame now, the full graph once it stops moving
    var self = this;
    clearTimeout(this.settle);
    this.settle = setTimeout(function () { self.draw(false); }, 150);
    if (this.pending) { return; }
    this.pending = true;
    requestAnimationFrame(function () { self.pending = false; self.draw(true); });
  };

  GateView.prototype.showTip = function (i, sx, sy) {
    if (i < 0) { this.tip.style.display = "none"; return; }
    var nodes = this.data.nodes, mod = nodes.module[i], size = this.data.module_sizes[mod];
    this.tip.textContent = nodes.id[i] + " · " + (this.data.roles[nodes.role[i]] || "?") +
      " · " + (mod < 0 ? "no module" : "module " + mod + (size ? " (" + size + " gates)" : ""));
    this.tip.style.display = "block";
    this.tip.style.left = Math.min(sx + 12, this.w - 220) + "px"; this.tip.style.top = (sy + 12) + "px";
  };

  GateView.prototype.listen = function () {
    var self = this, c = this.canvas, drag = null;
    c.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = c.getBoundingClientRect(), sx = ev.clientX - r.left, sy = ev.clientY - r.top;
      var before = self.toWorld(sx, sy), f = Math.exp(-ev.deltaY * 0.0015);
      self.scale = Math.max(1e-3, Math.min(self.scale * f, 1e4));
      var after = self.toScreen(before[0], before[1]);
      self.tx += sx - after[0]; self.ty += sy - after[1]; self.request();
    }, {passive: false});
    c.addEventListener("mousedown", function (ev) { drag = [ev.clientX, ev.clientY]; });
    window.addEventListener("mouseup", function () { drag = null; });
    c.addEventListener("mousemove", function (ev) {
      var r = c.getBoundingClientRect();
      if (drag) {
        self.tx += ev.clientX - drag[0]; self.ty += ev.clientY - drag[1]; drag = [ev.clientX, ev.clientY];
        self.request(); return;
      }
      var i = self.nearest(ev.clientX - r.left, ev.clientY - r.top);
      self.showTip(i, ev.clientX - r.left, ev.clientY - r.top);
    });
    c.addEventListener("mouseleave", function () { self.showTip(-1); });
    c.addEventListener("dblclick", function () { self.reset(); self.draw(false); });
  };

  GateView.prototype.benchmark = function (frames, moving) {  // mean ms per redraw while zooming in and out
    var keep = [this.scale, this.tx, this.ty], times = [];
    for (var k = 0; k < frames; k++) {
      this.scale = keep[0] * Math.pow(1.15, k % 10 - 5); this.tx = keep[1] + (k % 7) * 9;
      var t0 = performance.now(); this.draw(!!moving); this.finish(); times.push(performance.now() - t0);
    }
    this.scale = keep[0]; this.tx = keep[1]; this.ty = keep[2]; this.draw(false); this.finish();
    return times.reduce(function (a, b) { return a + b; }, 0) / Math.max(1, times.length);
  };

  GateView.prototype.painted = function () {  // pixels that are not the white background
    var w = this.canvas.width, h = this.canvas.height, px;
    if (this.gl) {
      px = new Uint8Array(4 * w * h);
      this.gl.readPixels(0, 0, w, h, this.gl.RGBA, this.gl.UNSIGNED_BYTE, px);
    } else {
      px = this.ctx.getImageData(0, 0, w, h).data;
    }
    var count = 0;
    for (var i = 0; i < px.length; i += 4) {
      if (px[i] < 245 || px[i + 1] < 245 || px[i + 2] < 245) { count++; }
    }
    return count;
  };

  window.tlGateViews = [];
  document.querySelectorAll("div.tl-gates").forEach(function (root) {
    try {
      var data = JSON.parse(document.getElementById(root.id + "-data").textContent);
      window.tlGateViews.push(new GateView(root, data));
    } catch (err) {
      console.error("tritlens: gate view " + root.id + " failed: " + err);
    }
  });
})();
"""
