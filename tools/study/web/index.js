/* index.js — the start page: registers a rater (POST /api/raters) or resumes the stored one,
   shows per-set and per-part progress (GET /api/progress) and builds the rating links. */
'use strict';

(() => {
  const { $, api } = Study;

  function showSignin(message) {
    $('welcome').hidden = true;
    $('signin').hidden = false;
    Study.showError(message || '');
    document.body.dataset.state = 'signin';
    $('name').focus();
  }

  function updateLinks(token) {
    const part = $('part').value;
    const q = `?rater=${encodeURIComponent(token)}` + (part ? `&part=${part}` : '');
    $('link-2d').href = `2d.html${q}`;
    $('link-3d').href = `3d.html${q}`;
  }

  async function showWelcome(token) {
    let data;
    try {
      ({ data } = await api('GET', `/api/progress?rater=${encodeURIComponent(token)}`));
    } catch (e) {
      if (e.status === 404) {
        Study.forgetToken();
        showSignin('Your saved rater was not found on this server; please enter your name again.');
      } else {
        Study.showError(e.message);
        document.body.dataset.state = 'error';
      }
      return;
    }
    $('who').textContent = data.name;
    const sets = data.sets || {};
    const parts = new Set();
    for (const key of ['2d', '3d']) {
      Study.renderProgress($(`progress-${key}`), `${key.toUpperCase()} set`, sets[key], null);
      for (const p of (sets[key] && sets[key].parts) || []) parts.add(p.part);
    }
    const select = $('part');
    const chosen = select.value;
    select.length = 1;
    for (const p of [...parts].sort((x, y) => x - y)) select.add(new Option(`part ${p}`, String(p)));
    select.value = parts.has(Number(chosen)) ? chosen : '';
    select.onchange = () => updateLinks(token);
    updateLinks(token);
    $('signin').hidden = true;
    $('welcome').hidden = false;
    document.body.dataset.state = 'welcome';
  }

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('name').value.trim();
    if (!name) { Study.showError('Please type your name.'); return; }
    $('start').disabled = true;
    try {
      const { data } = await api('POST', '/api/raters', { name });
      Study.storeToken(data.rater);
      Study.clearError();
      await showWelcome(data.rater);
    } catch (e) {
      Study.showError(e.message);
    } finally {
      $('start').disabled = false;
    }
  });

  $('forget').addEventListener('click', (ev) => {
    ev.preventDefault();
    Study.forgetToken();
    $('name').value = '';
    showSignin();
  });

  const token = Study.param('rater') || Study.storedToken();
  if (token) {
    Study.storeToken(token);
    showWelcome(token);
  } else {
    showSignin();
  }
})();
