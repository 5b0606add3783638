/* 2d.js — the 2D rating page: draws Russell's circumplex (unit circle, valence across, arousal
   up) on #circumplex with the shown face's point [v, a] as a dot, then runs Study's rating loop. */
'use strict';

(() => {
  const canvas = Study.$('circumplex');
  const fmt = (x) => (x < 0 ? '−' : '+') + Math.abs(x).toFixed(2);

  function draw(v, a) {
    const css = canvas.getBoundingClientRect();
    const w = Math.round(css.width) || canvas.width;
    const h = Math.round(css.height) || canvas.height;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);

    const cx = w / 2, cy = h / 2, r = Math.min(w, h) / 2 - 44;
    if (r < 8) return;  // laid out too small to draw (e.g. while the page is still being laid out)
    const X = (x) => cx + x * r, Y = (y) => cy - y * r;

    // disk, quarter rings and quadrant lines
    g.fillStyle = '#f6f8fb';
    g.beginPath(); g.arc(cx, cy, r, 0, 2 * Math.PI); g.fill();
    g.strokeStyle = '#d8dee8'; g.lineWidth = 1;
    for (const k of [0.25, 0.5, 0.75]) {
      g.beginPath(); g.arc(cx, cy, k * r, 0, 2 * Math.PI); g.stroke();
    }
    g.strokeStyle = '#5b6b82'; g.lineWidth = 1.5;
    g.beginPath(); g.arc(cx, cy, r, 0, 2 * Math.PI); g.stroke();

    // axes with arrow heads
    g.strokeStyle = '#334155'; g.fillStyle = '#334155'; g.lineWidth = 1.2;
    const arrow = (x0, y0, x1, y1) => {
      g.beginPath(); g.moveTo(x0, y0); g.lineTo(x1, y1); g.stroke();
      const t = Math.atan2(y1 - y0, x1 - x0);
      g.beginPath(); g.moveTo(x1, y1);
      g.lineTo(x1 - 8 * Math.cos(t - 0.4), y1 - 8 * Math.sin(t - 0.4));
      g.lineTo(x1 - 8 * Math.cos(t + 0.4), y1 - 8 * Math.sin(t + 0.4));
      g.closePath(); g.fill();
    };
    arrow(X(-1.12), cy, X(1.12), cy);
    arrow(cx, Y(-1.12), cx, Y(1.12));

    // axis labels
    g.font = '600 12px system-ui, sans-serif';
    g.textAlign = 'center'; g.textBaseline = 'middle';
    g.fillText('arousal', cx, 12);
    g.save(); g.translate(w - 10, cy); g.rotate(Math.PI / 2); g.fillText('valence', 0, 0); g.restore();
    g.font = '11px system-ui, sans-serif'; g.fillStyle = '#64748b';
    g.fillText('excited', cx, 27);
    g.fillText('calm', cx, h - 14);
    g.textAlign = 'right'; g.fillText('pleasant', X(1) - 6, cy - 11);
    g.textAlign = 'left'; g.fillText('unpleasant', X(-1) + 6, cy - 11);

    if (v === null) return;
    // the point: a guide line from the centre, then the dot
    g.strokeStyle = 'rgba(220, 38, 38, 0.45)'; g.setLineDash([4, 3]); g.lineWidth = 1.2;
    g.beginPath(); g.moveTo(cx, cy); g.lineTo(X(v), Y(a)); g.stroke(); g.setLineDash([]);
    g.fillStyle = '#dc2626'; g.strokeStyle = '#fff'; g.lineWidth = 2;
    g.beginPath(); g.arc(X(v), Y(a), 7, 0, 2 * Math.PI); g.fill(); g.stroke();
  }

  let last = [null, null];
  function showPoint(p) {
    last = [p[0], p[1]];
    draw(last[0], last[1]);
    Study.$('coords').textContent = `valence ${fmt(p[0])} · arousal ${fmt(p[1])}`;
  }

  window.addEventListener('resize', () => draw(last[0], last[1]));
  draw(null, null);
  Study.ratingPage('2d', showPoint);
})();
