/* study.js — shared code of the circumplex rating study pages: the rater token, JSON calls to
   the study server's /api, progress rendering, the error banner and the rating loop that
   2d.html and 3d.html run (each page passes in a function that shows the image's point). */
'use strict';

const Study = (() => {
  const TOKEN_KEY = 'circumplex-study-rater';

  const $ = (id) => document.getElementById(id);
  const param = (name) => new URLSearchParams(location.search).get(name);

  function storedToken() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: URL still works */ }
  }
  function forgetToken() {
    try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
  }

  /* One JSON request. Resolves {status, data} for 2xx (data is null for an empty body);
     rejects with an Error carrying .status and the server's "error" message otherwise. */
  async function api(method, path, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw Object.assign(new Error('cannot reach the study server'), { status: 0 });
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const msg = data && data.error ? data.error : `${res.status} ${res.statusText}`;
      throw Object.assign(new Error(msg), { status: res.status });
    }
    return { status: res.status, data };
  }

  function showError(message) {
    const el = $('error');
    if (!el) return;
    el.textContent = message;
    el.hidden = !message;
  }
  const clearError = () => showError('');

  /* Fills `el` with one set's progress: overall count and bar, then a chip per part.
     `current` (a part number or null) is highlighted. */
  function renderProgress(el, label, set, current) {
    el.textContent = '';
    if (!set) return;
    const head = document.createElement('div');
    head.className = 'progress-head';
    head.textContent = `${label}: ${set.rated} / ${set.total} rated`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = set.total ? `${(100 * set.rated) / set.total}%` : '0';
    bar.appendChild(fill);
    const chips = document.createElement('div');
    chips.className = 'chips';
    for (const p of set.parts || []) {
      const chip = document.createElement('span');
      chip.className = 'chip';
      if (p.rated >= p.total) chip.classList.add('complete');
      if (p.part === current) chip.classList.add('current');
      chip.textContent = `part ${p.part}: ${p.rated}/${p.total}`;
      chips.appendChild(chip);
    }
    el.append(head, bar, chips);
  }

  /* The rating page: `set` is "2d" or "3d"; `showPoint(point)` draws the image's position. */
  function ratingPage(set, showPoint) {
    const token = param('rater') || storedToken();
    if (!token) {
      location.replace('index.html');
      return;
    }
    storeToken(token);
    const partParam = param('part');
    const part = partParam && /^\d+$/.test(partParam) ? Number(partParam) : null;
    const label = `${set.toUpperCase()} set`;
    const buttons = [1, 2, 3, 4, 5].map((s) => $(`vote-${s}`));
    const img = $('image');
    let current = null; // the /api/next reply on show
    let progress = null; // this set's entry of the last /api/progress reply
    let state = '';

    function setState(s) {
      state = s;
      document.body.dataset.state = s;
      const enabled = s === 'ready';
      for (const b of buttons) b.disabled = !enabled;
    }

    async function refreshProgress() {
      try {
        const { data } = await api('GET', `/api/progress?rater=${encodeURIComponent(token)}`);
        $('rater-name').textContent = data.name ? ` · ${data.name}` : '';
        progress = data.sets ? data.sets[set] : null;
        drawProgress();
      } catch (e) {
        showError(e.message);
      }
    }

    function drawProgress() {
      renderProgress($('progress'), label, progress, current ? current.part : part);
    }

    function finish() {
      current = null;
      $('rating').hidden = true;
      $('done-text').textContent = part === null
        ? 'All done for this set — thank you'
        : `All done for part ${part} of this set — thank you`;
      $('done').hidden = false;
      setState('done');
    }

    async function loadNext() {
      setState('loading');
      let reply;
      try {
        const q = `rater=${encodeURIComponent(token)}&set=${set}` + (part === null ? '' : `&part=${part}`);
        reply = await api('GET', `/api/next?${q}`);
      } catch (e) {
        showError(e.message);
        setState('error');
        return;
      }
      if (reply.status === 204 || !reply.data) {
        finish();
        return;
      }
      current = reply.data;
      $('class').textContent = current.class;
      $('part-label').textContent = `part ${current.part}`;
      drawProgress();
      showPoint(current.point || [0, 0, 0]);
      img.onload = () => { if (current && img.dataset.image === current.image) setState('ready'); };
      img.onerror = () => { showError(`could not load the image ${current.url}`); setState('error'); };
      img.dataset.image = current.image;
      img.alt = `face to rate: ${current.class}`;
      img.src = current.url;
    }

    async function vote(score) {
      if (state !== 'ready' || !current) return;
      setState('busy');
      try {
        await api('POST', '/api/votes', { rater: token, image: current.image, score });
        clearError();
      } catch (e) {
        showError(e.message);
        if (e.status !== 409) { setState('ready'); return; } // 409: already rated, move on
      }
      await Promise.all([loadNext(), refreshProgress()]);
    }

    buttons.forEach((b, i) => b.addEventListener('click', () => vote(i + 1)));
    document.addEventListener('keydown', (ev) => {
      if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.repeat) return;
      if (/^[1-5]$/.test(ev.key)) {
        ev.preventDefault();
        vote(Number(ev.key));
      }
    });
    setState('loading');
    refreshProgress().then(loadNext);
  }

  return { TOKEN_KEY, $, param, api, storedToken, storeToken, forgetToken,
    showError, clearError, renderProgress, ratingPage };
})();
