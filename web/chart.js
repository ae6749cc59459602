// chart.js: a small line chart on a canvas (no library): series of points,
// drawn in one pass, cheap enough to redraw on every progress message.
export class LineChart {
  constructor(canvas, { yMin = null, yMax = null, format = (v) => v.toFixed(2) } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.yMin = yMin;
    this.yMax = yMax;
    this.format = format;
    this.series = [];
  }

  /** series: [{points: [[x, y], ...], color, dots}] */
  draw(series, xMax) {
    const { canvas, ctx } = this;
    const w = canvas.width, h = canvas.height, pad = { l: 44, r: 8, t: 8, b: 20 };
    ctx.clearRect(0, 0, w, h);
    const ys = series.flatMap((s) => s.points.map((p) => p[1]));
    let lo = this.yMin ?? Math.min(...ys, Infinity), hi = this.yMax ?? Math.max(...ys, -Infinity);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-6) hi = lo + 1;
    const xm = Math.max(1, xMax ?? Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[0]))));
    const X = (x) => pad.l + (x / xm) * (w - pad.l - pad.r);
    const Y = (y) => h - pad.b - ((y - lo) / (hi - lo)) * (h - pad.t - pad.b);
    ctx.strokeStyle = '#bbb';
    ctx.fillStyle = '#444';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.l, Y(v));
      ctx.lineTo(w - pad.r, Y(v));
      ctx.stroke();
      ctx.fillText(this.format(v), 2, Y(v) + 4);
    }
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = 2;
      if (s.dots) {
        for (const [x, y] of s.points) {
          ctx.beginPath();
          ctx.arc(X(x), Y(y), 4, 0, 2 * Math.PI);
          ctx.fill();
        }
      } else if (s.points.length) {
        ctx.beginPath();
        s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
        ctx.stroke();
      }
    }
  }
}
