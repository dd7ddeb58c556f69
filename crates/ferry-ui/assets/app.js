// Ferry's web UI: three pages over `ferry serve`'s JSON API, plain ES modules, no build step.
// Pages poll while visible and update in place: a section is rewritten only when its HTML
// changed, and relative times tick on their own, so scroll, selection, focus and an open
// dialog survive every refresh.

const $ = (id) => document.getElementById(id);
const main = $('main');
// State -> [label, tone]. A tone is a colour and a glyph; the label is always written.
const STATES = {
  pending: ['Pending', 'run'], provisioning: ['Provisioning', 'run'], 'awaiting-approval': ['Awaiting approval', 'wait'],
  shifting: ['Shifting', 'run'], baking: ['Baking', 'run'], holding: ['Holding', 'wait'], finalizing: ['Finalizing', 'run'],
  'cleaning-up': ['Cleaning up', 'run'], succeeded: ['Succeeded', 'ok'], 'rolling-back': ['Rolling back', 'bad'],
  'rolled-back': ['Rolled back', 'back'], failed: ['Failed', 'bad'],
};
const ENDED = ['succeeded', 'rolled-back', 'failed'];
const GLYPH = { run: '◔', wait: '❚❚', ok: '✓', bad: '✕', back: '↺', none: '?' };
const PRESETS = [['blue', 0], ['blue-80', 20], ['split', 50], ['green-80', 80], ['green', 100]];
const ACTIONS = {
  approve: ['Approve', 'primary', 'Approved'], reject: ['Reject', 'danger', 'Rejected'],
  promote: ['Promote', 'primary', 'Promotion asked'], rollback: ['Roll back', 'danger', 'Rollback asked'],
};

let me = null; // {identity, name, via} once the server vouches for us
let page = null; // the page on screen
let services = [];

// ---- HTML, escaped unless marked raw ----

class Raw { constructor(s) { this.s = s; } }
const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const flat = (v) => (v == null || v === false ? '' : v instanceof Raw ? v.s
  : Array.isArray(v) ? v.map(flat).join('') : String(v).replace(/[&<>"']/g, (c) => ESC[c]));
const h = (strings, ...values) => new Raw(strings.reduce((out, s, i) => out + flat(values[i - 1]) + s));

/** Rewrites `el` when its content changed; sizes its bars (CSSOM, so a strict CSP holds). */
function put(el, content) {
  const s = flat(content);
  if (!el || el._html === s) return;
  el.innerHTML = s;
  el._html = s;
  for (const bar of el.querySelectorAll('[data-w]')) bar.style.width = `${bar.dataset.w}%`;
  tick(el);
}

/** Relative times and running durations, kept out of the HTML so that it stays stable. */
function tick(root = document) {
  const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  for (const el of root.querySelectorAll('[data-ago]')) set(el, ago(el.getAttribute('datetime')));
  for (const el of root.querySelectorAll('[data-since]')) set(el, dur((Date.now() - Date.parse(el.dataset.since)) / 1000));
}
setInterval(() => { if (!document.hidden) tick(); }, 1000);

// ---- formatting ----

const kebab = (s) => String(s || '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const pad = (n) => String(n).padStart(2, '0');
function dur(s) {
  if (s == null || Number.isNaN(s)) return '—';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)}m ${pad(s % 60)}s` : `${s / 60}m`;
  const hours = Math.floor(s / 3600);
  return hours < 48 ? `${hours}h ${pad(Math.floor((s % 3600) / 60))}m` : `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
function ago(iso) {
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 5) return 'just now';
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return s < 172800 ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 86400)} days ago`;
}
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });
const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const clock = (d) => (new Date().toDateString() === d.toDateString() ? '' : `${dayFmt.format(d)} `) + clockFmt.format(d);
const tip = (iso) => `${fullFmt.format(new Date(iso))} (${iso})`;
/** "3 min ago", the date and time in its title. */
const when = (iso) => (iso ? h`<time datetime="${iso}" title="${tip(iso)}" data-ago></time>` : '—');
/** "20:15:02" (with the day when not today), the full date in its title. */
const at = (iso) => (iso ? h`<time datetime="${iso}" title="${tip(iso)}">${clock(new Date(iso))}</time>` : '—');
const short = (sha) => String(sha || '').slice(0, 7);
const pct = (n) => `${Math.round(n * 10) / 10} %`;
const family = (td) => String(td || '').split('/').pop();
/** An image without its registry host, a long tag or digest shortened. */
const image = (s) => String(s).replace(/^[^/]*[.:][^/]*\//, '').replace(/([:@](?:sha256:)?[0-9a-f]{12})[0-9a-f]{8,}$/, '$1…');
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const capital = (s) => s && s[0].toUpperCase() + s.slice(1);
const badge = (state) => {
  const [label, tone] = STATES[state] || [state, 'none'];
  return h`<span class="badge ${tone}"><span aria-hidden="true">${GLYPH[tone]}</span>${label}</span>`;
};
const weight = (g) => h`<span class="w"><span class="wbar" aria-hidden="true"><span data-w="${g}"></span></span>${pct(g)}</span>`;

// ---- the API ----

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || body?.error || `the server answered ${status}`);
    Object.assign(this, { status, body: body || {} });
  }
}
async function api(path, { signal, body } = {}) {
  const response = await fetch(path, {
    method: body ? 'POST' : 'GET', credentials: 'same-origin', signal, body: body && JSON.stringify(body),
    headers: { Accept: 'application/json', ...(body && { 'Content-Type': 'application/json' }) },
  });
  let data = null;
  try { data = await response.json(); } catch { /* not JSON: the status says it */ }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
const seg = encodeURIComponent;

// ---- polling and routing ----

function newPage(interval, refresh) {
  const p = { interval, refresh, more: true, stop() { p.stopped = true; clearTimeout(p.timer); p.ctrl?.abort(); } };
  return p;
}

/** Refreshes `p` now, then again after its interval while it asks for more and is visible. */
async function cycle(p) {
  if (p.stopped) return;
  clearTimeout(p.timer);
  p.ctrl?.abort();
  const ctrl = (p.ctrl = new AbortController());
  let more = true;
  try {
    more = (await p.refresh(ctrl.signal)) !== false;
    live(null, more);
  } catch (error) {
    if (ctrl.signal.aborted) return;
    live(error);
  }
  if (p.stopped || p.ctrl !== ctrl) return;
  p.ctrl = null;
  p.more = more;
  if (more && !document.hidden) p.timer = setTimeout(() => cycle(p), p.interval);
}
document.addEventListener('visibilitychange', () => { if (!document.hidden && page?.more) cycle(page); });

function live(error, polling = true) {
  const el = $('live');
  el.className = `live ${error ? 'stale' : polling ? 'on' : ''}`;
  el.textContent = error ? `Not updating: ${error.message}. Retrying` : `${polling ? 'Live' : 'Updated'} · ${clockFmt.format(new Date())}`;
}

function navigate(url) {
  history.pushState(null, '', url);
  route();
  scrollTo(0, 0);
  main.focus({ preventScroll: true });
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (a) {
    if (a.origin !== location.origin || a.target || !/^\/(?:$|deployments\/|services\/)/.test(a.pathname)
      || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    document.querySelector('details.menu[open]')?.removeAttribute('open');
    navigate(a.pathname + a.search);
    return;
  }
  const row = e.target.closest('tr[data-href]'); // the whole row opens it; its link serves the keyboard
  if (row && !e.target.closest('button, select') && !String(getSelection())) navigate(row.dataset.href);
});
addEventListener('popstate', route);

function route() {
  page?.stop();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const m = path.match(/^\/deployments\/([^/]+)$/) || path.match(/^\/services\/([^/]+)\/([^/]+)$/);
  if (path === '/') page = overviewPage();
  else if (m && m.length === 2) page = deploymentPage(decodeURIComponent(m[1]));
  else if (m) page = servicePage(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  else {
    page = newPage(0, () => false);
    document.title = 'Not found · Ferry';
    put(main, h`<h1>Not found</h1><p class="empty">Nothing lives at ${path}. <a href="/">All deployments</a></p>`);
  }
  if (path === '/') $('nav-deployments').setAttribute('aria-current', 'page'); else $('nav-deployments').removeAttribute('aria-current');
  cycle(page);
}

// ---- who we are, the services menu ----

async function whoAmI() {
  try {
    me = await api('/api/me');
    put($('me'), h`<span class="muted">Signed in as</span> <strong title="via ${me.via}">${me.identity}</strong>`);
    $('auth').hidden = true;
  } catch (error) {
    me = null;
    put($('me'), h`<span class="muted">Not signed in</span>`);
    $('auth').hidden = false;
    $('auth').textContent = `${error.status === 401 ? error.message : `Could not tell who you are: ${error.message}.`} You can watch; actions are hidden.`;
    if (error.status !== 401) setTimeout(() => whoAmI().then(() => page?.more && cycle(page)), 10000);
  }
  document.body.classList.toggle('anonymous', !me);
}

function setServices(list) {
  if (list.join() === services.join()) return;
  services = list;
  put($('nav-services'), list.length > 0 && h`<details class="menu"><summary>Services</summary><ul>${
    list.map((s) => h`<li><a href="/services/${s}">${s}</a></li>`)}</ul></details>`);
}

// ---- deployment rows: the list, and a service's history ----

function rows(list, withService = true) {
  if (!list.length) return h`<p class="empty">No deployments match.</p>`;
  const row = (r) => {
    const href = `/deployments/${seg(r.id)}`;
    return h`<tr data-href="${href}" class="${r.inFlight && 'inflight'}">
      ${withService && h`<td data-label="Service"><a href="/services/${r.service}" class="svc">${r.service}</a></td>`}
      <td class="commit"><div class="line"><a href="${href}" class="sha" title="${r.commit}">${r.shortCommit || short(r.commit)}</a>
        <span class="msg" title="${r.message}">${r.message || h`<span class="muted">no message</span>`}</span></div>
        <div class="by">${r.author || 'unknown author'}${r.branch && ` · ${r.branch}`}</div></td>
      <td class="nowrap">${r.strategy}</td>
      <td>${badge(r.status)}</td>
      <td data-label="Green" class="num">${weight(r.greenWeight)}</td>
      <td data-label="Started" class="num">${when(r.createdAt)}</td>
      <td data-label="Duration" class="num">${r.inFlight ? h`<span data-since="${r.createdAt}"></span><span class="muted"> so far</span>` : dur(r.durationSeconds)}</td></tr>`;
  };
  const group = (label, items) => items.length > 0 && h`<tbody><tr class="group"><th colspan="7" scope="rowgroup">${label} <span class="muted">${items.length}</span></th></tr>${items.map(row)}</tbody>`;
  return h`<table class="rows"><thead><tr>${withService && h`<th>Service</th>`}<th>Commit</th>
    <th>Strategy</th><th>State</th><th class="num">Green</th><th class="num">Started</th>
    <th class="num">Duration</th></tr></thead>${group('In flight', list.filter((r) => r.inFlight))}${group('Recent', list.filter((r) => !r.inFlight))}</table>`;
}

// ---- / : deployments ----

function overviewPage() {
  document.title = 'Deployments · Ferry';
  put(main, h`<div class="titlebar"><h1>Deployments</h1><form class="filters" id="filters" role="search">
    <label>Service <select name="service"><option value="">All services</option></select></label>
    <label>Status <select name="status"><option value="">Any status</option><option value="in-flight">In flight</option>
      <option value="ended">Ended</option>${Object.entries(STATES).map(([s, [label]]) => h`<option value="${s}">${label}</option>`)}</select></label>
    </form></div><div id="list"><p class="empty">Loading…</p></div>`);
  const form = $('filters');
  const query = () => new URLSearchParams(location.search);
  form.status.value = query().get('status') || '';
  const p = newPage(3000, async (signal) => {
    const q = query();
    const data = await api(`/api/overview?${q}`, { signal });
    const list = data.deployments || [];
    setServices(data.services || []);
    const wanted = q.get('service') || '';
    const options = [...new Set(['', ...services, wanted])];
    if ([...form.service.options].map((o) => o.value).join() !== options.join()) {
      put(form.service, options.map((s) => h`<option value="${s}">${s || 'All services'}</option>`));
    }
    form.service.value = wanted;
    const flying = list.filter((r) => r.inFlight).length;
    document.title = `${flying ? `(${flying} in flight) ` : ''}Deployments · Ferry`;
    put($('list'), list.length || q.get('service') || q.get('status') ? rows(list)
      : h`<div class="empty"><p>No deployments yet.</p><p>Push to a tracked branch, or run <code>ferry deploy .ferry/web.yaml --local</code>.</p></div>`);
  });
  form.addEventListener('change', () => {
    const q = query();
    for (const name of ['service', 'status']) if (form[name].value) q.set(name, form[name].value); else q.delete(name);
    history.replaceState(null, '', `/${String(q) && `?${q}`}`);
    cycle(p);
  });
  return p;
}

// ---- /deployments/{id} ----

/** A reason that already says who answered ("approved by local:alice via web UI"). */
const SAID = /^(approved|rejected|rolled back|blue removed early) by /;

/** A history event, in words. */
function describe(e, d) {
  const said = { approved: 'approved by', rejected: 'rejected by', aborted: 'rolled back by' }[e.answer];
  switch (e.event) {
    case 'planned': return h`Planned ${plural(e.steps, 'step')} for <code>${short(e.commit)}</code>${e.author && ` by ${e.author}`} (${e.manifestPath})`;
    case 'warning': return `Warning: ${e.message}`;
    case 'task-set-created': return h`Green task set created: <code>${family(e.taskDefinition)}</code> <span class="muted">${e.taskSet}</span>`;
    case 'task-set-stable': return `Green is stable: ${e.running} of ${e.desired} tasks running (after ${dur(e.waitedSeconds)})`;
    case 'awaiting-approval': return `Awaiting approval before ${pct(e.weight)} goes to green; approvers: ${e.approvers?.join(', ') || 'anyone with access'}`;
    case 'answered': return SAID.test(e.reason) ? capital(e.reason)
      : `${capital(said || `${e.answer} by`)} ${e.by}${e.reason ? `: ${e.reason}` : ''}`;
    case 'shifted': return `Shifted to ${pct(e.weight)} on green (step ${e.step + 1} of ${e.of ?? d.plan?.steps?.length})`;
    case 'test-traffic': return e.to === 'green' ? 'Test listener sends everything to green; production untouched' : 'Test listener sends everything to blue again';
    case 'moved': return `Moved by hand to ${pct(e.weight)} on green`;
    case 'baking': return `Baking step ${e.step + 1} for ${dur(e.seconds)}, alarms watched`;
    case 'alarm-ignored': return `Alarm ignored (rollback.onAlarm is false): ${e.cause}`;
    case 'hook-passed': return `Hook ${e.hook} passed ${hookWhen(e)}in ${dur(e.seconds)}: ${e.detail}`;
    case 'hook-failed': return `Hook ${e.hook} failed ${hookWhen(e)}after ${dur(e.seconds)}: ${e.detail}${e.rollsBack ? '; rolling back' : ' (onFailure: continue)'}`;
    case 'promoted': return `Promoted: green is primary; blue kept warm for ${dur(e.keepBlueSeconds)}`;
    case 'keeping-blue-warm': return `Keeping blue warm for ${dur(e.seconds)}, alarms watched`;
    case 'cleanup-started': return 'Cleanup started: removing blue';
    case 'succeeded': return h`Succeeded in ${dur(e.durationSeconds)}: now running <code>${family(e.taskDefinition)}</code>`;
    case 'rolling-back': return `Rolling back: ${e.reason}`;
    case 'rolled-back': return `Rolled back: ${e.reason}`;
    case 'rolled-forward': return `Rolled forward: blue's removal had begun when ${e.reason}; finished instead of rolling back`;
    case 'failed': return `Failed: ${e.error}`;
    case 'history-truncated': return `${plural(e.dropped, 'earlier entry', 'earlier entries')} dropped to keep the record small`;
    default: return `${e.event}${e.detail ? `: ${e.detail}` : ''}`;
  }
}
/** When a hook ran, as its event line says it. */
function hookWhen(e) {
  switch (e.stage) {
    case 'afterTestTraffic': return 'after test traffic ';
    case 'beforeStep': return `before step ${e.step + 1} `;
    case 'afterStep': return `after step ${e.step + 1} `;
    case 'afterTraffic': return 'with all traffic on green ';
    default: return '';
  }
}
const TONES = { succeeded: 'ok', failed: 'bad', 'rolling-back': 'bad', 'rolled-back': 'bad', warning: 'warn', 'alarm-ignored': 'warn', 'hook-passed': 'ok',
  'rolled-forward': 'warn', 'awaiting-approval': 'wait', shifted: 'shift', moved: 'shift', promoted: 'shift', 'test-traffic': 'shift' };
const tone = (e) => {
  if (e.event === 'answered') return e.answer === 'approved' ? 'ok' : 'bad';
  if (e.event === 'hook-failed') return e.rollsBack ? 'bad' : 'warn';
  return TONES[e.event] || '';
};

/** The strategy in a few words, as the list says it. */
function strategy(plan = {}) {
  const w = (plan.steps || []).map((s) => s.weight);
  const held = PRESETS.find(([, g]) => g === plan.holdsAt);
  if (plan.holdsAt != null) return held ? `preset ${held[0]}` : `holds at ${plan.holdsAt}%`;
  if (w.join() === '100') return 'all at once';
  if (w.length === 2 && w[1] === 100) return `canary ${w[0]}%`;
  if (w.length > 2 && w.at(-1) === 100 && w.slice(0, -1).every((x, i) => x === w[0] * (i + 1))) return `linear +${w[0]}%`;
  return `steps ${w.map((x) => `${x}%`).join(' / ')}`;
}

/** The dialog's question and what follows, for `action` on `d` now. */
function question(action, d, preset) {
  const svc = `${d.cluster}/${d.service}`;
  const i = d.status?.step;
  const next = d.plan?.steps?.[i];
  return {
    approve: [`Approve ${svc}?`, next ? `${pct(next.weight)} of production traffic goes to green (step ${i + 1} of ${d.plan.steps.length}), then the deployment goes on.` : 'The deployment goes on.'],
    reject: [`Reject ${svc}?`, 'The deployment rolls back: all traffic stays on blue and green is removed.'],
    promote: [`Promote ${svc}?`, d.status?.state === 'finalizing' ? 'Blue is removed now instead of being kept warm.' : 'All production traffic goes to green, green becomes primary, and the deployment finishes.'],
    rollback: [`Roll back ${svc}?`, 'All production traffic goes back to blue and green is removed.'],
    moveTo: [`Move ${svc} to ${preset}?`, `Green gets ${pct(PRESETS.find(([n]) => n === preset)?.[1])} of production traffic, blue the rest; the deployment keeps holding.`],
  }[action];
}

const dialog = $('confirm');
let asked = null; // the action the dialog asks about

function confirmAction(action, d, preset, done) {
  const [q, text] = question(action, d, preset);
  const reason = action === 'reject' || action === 'rollback';
  $('confirm-title').textContent = q;
  $('confirm-text').textContent = text;
  $('confirm-reason-field').hidden = !reason;
  $('confirm-reason').value = '';
  Object.assign($('confirm-ok'), { textContent: 'Confirm', disabled: false, className: ACTIONS[action]?.[1] || 'primary' });
  asked = { action, preset, id: d.id, done, reason };
  dialog.showModal();
  (reason ? $('confirm-reason') : $('confirm-ok')).focus();
}
$('confirm-cancel').addEventListener('click', () => dialog.close());
dialog.addEventListener('close', () => { asked = null; });
$('confirm-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const job = asked;
  if (!job) return;
  Object.assign($('confirm-ok'), { disabled: true, textContent: 'Sending…' });
  const body = { action: job.action };
  const reason = $('confirm-reason').value.trim();
  if (job.reason && reason) body.reason = reason;
  if (job.preset) body.preset = job.preset;
  let result;
  try {
    const outcome = await api(`/api/deployments/${seg(job.id)}/actions`, { body });
    // {outcome: answered, answer, reason} or {outcome: trafficStarted, request}: said in words.
    const said = SAID.test(outcome?.reason) && capital(outcome.reason);
    result = { ok: true, text: said || (job.preset ? `Moving to ${job.preset}, asked by ${me?.identity}`
      : `${ACTIONS[job.action][2]} by ${me?.identity}${body.reason ? `: ${body.reason}` : ''}`) };
  } catch (error) {
    result = { ok: false, text: error.message, refusal: error.body.refusal || error.body.error || '' };
  }
  dialog.close();
  job.done(result);
});

function deploymentPage(id) {
  document.title = `${id} · Ferry`;
  put(main, h`<nav class="crumbs" id="d-crumbs" aria-label="Breadcrumb"><a href="/">Deployments</a></nav>
    <section id="d-head" class="card" aria-labelledby="d-title"><p class="empty">Loading…</p></section>
    <section id="d-act" class="actions" aria-label="Actions" hidden></section><div id="d-notice"></div>
    <div class="cols"><div><section id="d-traffic" class="card" aria-labelledby="h-traffic"></section>
    <section id="d-plan" class="card" aria-labelledby="h-plan"></section><section id="d-tasks" class="card" aria-labelledby="h-tasks"></section>
    <section id="d-alarms" class="card" aria-labelledby="h-alarms"></section></div>
    <section id="d-timeline" class="card" aria-labelledby="h-timeline"></section></div>`);
  let record = null;
  let afterEnd = 0;
  const done = (r) => {
    put($('d-notice'), h`<div class="notice ${r.ok ? 'ok' : 'bad'}" role="${r.ok ? 'status' : 'alert'}" data-refusal="${r.refusal}">
      <span aria-hidden="true">${r.ok ? '✓' : '✕'}</span><strong>${r.ok ? 'Done' : r.refusal ? 'Refused' : 'Failed'}:</strong> <span class="text">${r.text}</span>
      <button type="button" class="link" data-dismiss>Dismiss</button></div>`);
    afterEnd = 0;
    cycle(p);
  };
  $('d-notice').addEventListener('click', (e) => { if (e.target.closest('[data-dismiss]')) put($('d-notice'), ''); });
  $('d-act').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    if (b && record) confirmAction(b.dataset.action, record, b.dataset.preset, done);
  });

  const p = newPage(2000, async (signal) => {
    const [d, now] = await Promise.all([
      api(`/api/deployments/${seg(id)}`, { signal }).catch((error) => { if (error.status === 404) return error; throw error; }),
      api(`/api/deployments/${seg(id)}/live`, { signal }).catch((error) => { if (signal.aborted) throw error; return { error: error.message }; }),
    ]);
    if (d instanceof ApiError) {
      put($('d-head'), h`<h1 id="d-title">No deployment ${id}</h1><p>${d.message}</p><p><a href="/">All deployments</a></p>`);
      return false;
    }
    record = d;
    render(d, now);
    return !ENDED.includes(kebab(d.status?.state)) || afterEnd++ < 1; // once more after it ends
  });

  function render(d, now) {
    const state = kebab(d.status?.state);
    const svc = `${d.cluster}/${d.service}`;
    const src = d.source || {};
    const links = now.links || {};
    const ended = ENDED.includes(state);
    const approvers = d.policy?.approvers || [];
    const ext = (url, text, title) => h`<a href="${url}" rel="noopener noreferrer" target="_blank" title="${title}">${text}</a>`;
    document.title = `${STATES[state]?.[0] || state} · ${svc} ${short(src.commit)} · Ferry`;
    put($('d-crumbs'), h`<a href="/">Deployments</a> / <a href="/services/${svc}">${svc}</a> / <span aria-current="page">${d.id}</span>`);
    put($('d-head'), h`<div class="headline"><h1 id="d-title">${svc}</h1>${badge(state)}<span class="spacer"></span>
        ${links.commit && ext(links.commit, 'Commit ↗')} ${links.pullRequests && ext(links.pullRequests, 'Pull requests ↗')}</div>
      <p class="message">${src.message || h`<span class="muted">no commit message</span>`}</p>
      <dl class="facts">
        <div><dt>Commit</dt><dd>${links.commit ? ext(links.commit, h`<code>${short(src.commit)}</code>`, src.commit) : h`<code title="${src.commit}">${short(src.commit)}</code>`}${src.branch && ` on ${src.branch}`}</dd></div>
        <div><dt>Author</dt><dd>${src.author || 'unknown'}</dd></div>
        <div><dt>Strategy</dt><dd>${d.strategy || strategy(d.plan)}</dd></div>
        <div><dt>Started</dt><dd>${at(d.createdAt)} <span class="muted">(${when(d.createdAt)})</span></dd></div>
        <div><dt>${ended ? 'Took' : 'Running for'}</dt><dd class="num">${d.finishedAt ? dur((Date.parse(d.finishedAt) - Date.parse(d.createdAt)) / 1000) : h`<span data-since="${d.createdAt}"></span>`}</dd></div>
        <div><dt>Approvers</dt><dd>${approvers.length ? approvers.map((a, i) => h`${i ? ', ' : ''}${a}${a === me?.identity && h` <span class="you">you</span>`}`) : h`<span class="muted">anyone with access</span>`}</dd></div>
        <div><dt>Manifest</dt><dd>${src.repository} <code>${src.manifestPath}</code></dd></div>
      </dl>${d.reason && h`<p class="reason ${state !== 'succeeded' && 'bad'}"><strong>Reason:</strong> ${d.reason}</p>`}`);
    actions(d, now, state);

    const w = now.weights;
    const g = w?.greenPercent;
    $('d-traffic').dataset.green = g ?? '';
    put($('d-traffic'), h`<h2 id="h-traffic">Production traffic</h2>${g != null ? h`
      <div class="split" role="img" aria-label="${pct(100 - g)} on blue, ${pct(g)} on green"><span class="blue" data-w="${100 - g}"></span><span class="green" data-w="${g}"></span></div>
      <div class="legend"><span><i class="key blue"></i>Blue <strong class="num">${pct(100 - g)}</strong></span><span>Green <strong class="num" id="green-percent">${pct(g)}</strong><i class="key green"></i></span></div>
      <table class="mini"><tbody>${w.targetGroups.map((t) => h`<tr><td><span class="role ${t.role}">${t.role}</span></td><td title="${t.arn}">${t.name}</td><td class="num">weight ${t.weight}</td></tr>`)}</tbody></table>
      <p class="muted small">Read from the load balancer at ${at(now.readAt)}</p>`
      : h`<p class="error">${now.weightsError || now.error || 'The load balancer forwards nothing.'}</p><p class="muted small">Recorded: ${pct(d.greenWeight)} on green</p>`}`);

    const steps = d.plan?.steps || [];
    const current = d.status?.step;
    put($('d-plan'), h`<h2 id="h-plan">Plan <span class="muted">${strategy(d.plan)}</span></h2><ol class="steps">${steps.map((s, i) => {
      const on = i === current && !ended;
      const past = !on && d.appliedStep != null && i <= d.appliedStep;
      return h`<li class="${on ? 'now' : past && 'done'}" ${on && h`aria-current="step"`}><span class="n">${past ? '✓' : i + 1}</span>
        <strong class="num">${pct(s.weight)}</strong><span class="muted">${s.bakeSeconds ? `bake ${dur(s.bakeSeconds)}` : 'no bake'}</span>
        ${s.approve && h`<span class="tag">approval</span>`}${on && h`<span class="tag now">${STATES[state]?.[0]}</span>`}</li>`;
    })}</ol>${d.plan?.holdsAt != null && h`<p class="small muted">Holds at ${pct(d.plan.holdsAt)} until promoted or rolled back.</p>`}`);

    const sets = now.taskSets || [];
    put($('d-tasks'), h`<h2 id="h-tasks">Task sets</h2>${sets.length ? h`<div class="scroll"><table class="mini">
      <thead><tr><th>Role</th><th>Task definition</th><th>Image</th><th class="num">Running</th><th>Status</th></tr></thead>
      <tbody>${sets.map((t) => h`<tr><td><span class="role ${t.role}">${t.role}</span></td>
        <td class="nowrap"><code title="${t.taskDefinitionArn}">${t.taskDefinition}</code></td>
        <td>${t.images?.map((im) => h`<div title="${im.container}: ${im.image}"><code>${image(im.image)}</code></div>`)}</td>
        <td class="num">${t.running}/${t.desired}${t.pending > 0 && h` <span class="muted">+${t.pending} pending</span>`}</td>
        <td class="nowrap">${t.status} ${t.steady ? h`<span class="yes">✓ steady</span>` : h`<span class="no">… settling</span>`}</td></tr>`)}</tbody></table></div>`
      : h`<p class="${(now.taskSetsError || now.error) ? 'error' : 'muted'}">${now.taskSetsError || now.error || 'No task sets.'}</p>`}${sets.length > 0 && now.taskSetsError && h`<p class="error small">${now.taskSetsError}</p>`}`);

    const alarms = now.alarms || [];
    put($('d-alarms'), h`<h2 id="h-alarms">Alarms</h2>${alarms.length ? h`<ul class="alarms">${alarms.map((a) => {
      const [t, glyph, label] = { OK: ['ok', '✓', 'OK'], ALARM: ['bad', '✕', 'ALARM'] }[a.state] || ['none', '?', 'No data'];
      return h`<li><span class="badge ${t}"><span aria-hidden="true">${glyph}</span>${label}</span> <strong>${a.name}</strong>
        ${a.updatedAt && h`<span class="muted small">since ${at(a.updatedAt)}</span>`}${a.reason && h`<div class="small muted">${a.reason}</div>`}</li>`;
    })}</ul>` : h`<p class="${now.alarmsError ? 'error' : 'muted'}">${now.alarmsError || 'No alarms guard this deployment.'}</p>`}`);

    const t0 = Date.parse(d.createdAt);
    put($('d-timeline'), h`<h2 id="h-timeline">Timeline <span class="muted">${plural(d.history?.length || 0, 'event')}, newest last</span></h2>
      <ol class="timeline">${(d.history || []).map(({ at: t, greenWeight: gw, ...entry }) => {
        const e = typeof entry.event === 'object' ? entry.event : entry; // stored flat: {at, event: name, ...fields}
        return h`<li class="${tone(e)}" data-event="${e.event}">
        <span class="t">${at(t)}<span class="muted">+${dur((Date.parse(t) - t0) / 1000)}</span></span><span class="dot" aria-hidden="true"></span>
        <span class="what">${describe(e, d)}</span><span class="g" title="green's weight then">${gw != null && pct(gw)}</span></li>`;
      })}</ol>
      ${!ended && h`<p class="muted small following"><span class="pulse" aria-hidden="true"></span>Following live</p>`}`);
  }

  function actions(d, now, state) {
    const allowed = me && !ENDED.includes(state) ? now.actions || [] : [];
    const el = $('d-act');
    el.hidden = !allowed.length;
    const g = now.weights?.greenPercent ?? d.greenWeight;
    const approvers = d.policy?.approvers || [];
    const step = `step ${(d.status?.step ?? 0) + 1} of ${d.plan?.steps?.length}`;
    const hint = {
      'awaiting-approval': `Waiting for approval from ${approvers.join(', ') || 'anyone with access'}${approvers.length && !approvers.includes(me?.identity) ? ' (not you: yours would be refused)' : ''}.`,
      holding: `Holding at ${pct(g)} on green: promote, move, or roll back.`,
      baking: `Baking ${step} at ${pct(g)} on green; alarms watched.`,
      shifting: `Moving traffic for ${step}.`,
      provisioning: 'Starting green, at 0 % of traffic.',
      finalizing: 'Green serves everything; blue is kept warm in case.',
    }[state];
    el.className = `actions ${(state === 'awaiting-approval' || state === 'holding') && 'wait'}`;
    put(el, h`${hint && h`<p class="hint">${hint}</p>`}<div class="buttons">
      ${Object.entries(ACTIONS).filter(([a]) => allowed.includes(a)).map(([a, [label, cls]]) => h`<button type="button" class="${cls}" data-action="${a}">${label}</button>`)}
      ${allowed.includes('moveTo') && h`<span class="presets" role="group" aria-label="Move traffic to a preset"><span class="muted">Move to</span>${
        PRESETS.map(([n, wg]) => h`<button type="button" data-action="moveTo" data-preset="${n}" title="${pct(wg)} on green"${wg === g && h` aria-current="true"`}>${n}</button>`)}</span>`}</div>`);
  }
  return p;
}

// ---- /services/{cluster}/{service} ----

function servicePage(cluster, name) {
  const svc = `${cluster}/${name}`;
  document.title = `${svc} · Ferry`;
  put(main, h`<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Deployments</a> / <span aria-current="page">${svc}</span></nav>
    <div class="titlebar"><h1>${svc}</h1></div><section id="s-desired" class="card" aria-labelledby="h-desired" hidden></section>
    <div class="cols"><section id="s-current" class="card" aria-labelledby="h-current"><p class="empty">Loading…</p></section>
    <section id="s-plan" class="card" aria-labelledby="h-lastplan"></section></div>
    <section class="card flush" aria-labelledby="h-history"><h2 id="h-history">Deployments</h2><div id="s-history"></div></section>`);
  return newPage(3000, async (signal) => {
    let s;
    try {
      s = await api(`/api/services/${seg(cluster)}/${seg(name)}`, { signal });
    } catch (error) {
      if (error.status !== 404) throw error;
      put($('s-current'), h`<h2 id="h-current">Not found</h2><p>${error.message}</p>`);
      return false;
    }
    const known = (id) => (s.deployments || []).some((r) => r.id === id);
    const link = (id, text = id) => h`<a href="/deployments/${seg(id)}">${text}</a>`;
    const t = s.current?.taskSet;
    const by = s.current?.deploymentId;
    put($('s-current'), h`<h2 id="h-current">Running now</h2>${t ? h`<dl class="facts one">
        <div><dt>Task definition</dt><dd><code title="${t.taskDefinitionArn}">${t.taskDefinition}</code></dd></div>
        <div><dt>Image</dt><dd>${t.images?.map((im) => h`<div title="${im.image}"><code>${image(im.image)}</code> <span class="muted">${im.container}</span></div>`)}</dd></div>
        <div><dt>Tasks</dt><dd>${t.running} running of ${t.desired}${t.pending > 0 && `, ${t.pending} pending`} · ${t.status}${t.steady && ' · steady'}</dd></div>
        <div><dt>Put there by</dt><dd>${known(by) ? link(by) : h`<span class="muted">no Ferry deployment${by && ` (external id ${by})`}</span>`}</dd></div></dl>`
      : h`<p class="${s.currentError ? 'error' : 'muted'}">${s.currentError || 'No primary task set.'}</p>`}${t && s.currentError && h`<p class="error small">${s.currentError}</p>`}`);

    const lp = s.lastPlan;
    put($('s-plan'), h`<h2 id="h-lastplan">Last plan</h2>${lp ? h`<p>${badge(kebab(lp.status))} ${lp.strategy} for ${link(lp.deploymentId, h`<code>${short(lp.commit)}</code>`)}</p>
      <table class="mini"><thead><tr><th>Step</th><th class="num">Green</th><th>Bake</th><th>Approval</th></tr></thead>
      <tbody>${(lp.steps || []).map((st, i) => h`<tr><td>${i + 1}</td><td class="num">${pct(st.weight)}</td><td>${st.bakeSeconds ? dur(st.bakeSeconds) : '—'}</td><td>${st.approve ? 'required' : '—'}</td></tr>`)}</tbody></table>
      ${lp.holdsAt != null && h`<p class="small">Holds at ${pct(lp.holdsAt)} until promoted or rolled back.</p>`}` : h`<p class="muted">No plan yet.</p>`}`);

    // The latest push, shown while it waits to deploy.
    const ds = s.desired;
    const waiting = ds && ds.settled?.generation !== ds.generation;
    $('s-desired').hidden = !waiting && !ds?.passedOver?.length;
    put($('s-desired'), ds && h`<h2 id="h-desired">Latest push ${waiting ? h`<span class="badge wait"><span aria-hidden="true">❚❚</span>not yet deployed</span>` : h`<span class="badge ok"><span aria-hidden="true">✓</span>taken</span>`}</h2>
      <p><code title="${ds.push?.commit}">${short(ds.push?.commit)}</code> on ${ds.push?.branch}${ds.push?.author && ` by ${ds.push.author}`}, pushed ${when(ds.push?.pushedAt)}.
      ${waiting ? 'It deploys when the service is free.' : ds.settled?.deploymentId ? h`Deployed by ${link(ds.settled.deploymentId)}.` : 'The plan refused it.'}</p>
      ${ds.passedOver?.length > 0 && h`<details><summary>${plural(ds.passedOver.length, 'push', 'pushes')} passed over</summary><ul class="small">${ds.passedOver.map((o) => h`<li><code>${short(o.commit)}</code> ${
        o.reason === 'superseded' ? `superseded by ${short(o.by)}` : o.reason === 'older' ? `older than ${short(o.than)}` : `refused: ${o.message}`}, ${when(o.at)}</li>`)}</ul></details>`}`);
    put($('s-history'), rows(s.deployments || [], false));
  });
}

// ---- start ----

route();
whoAmI().then(() => { if (page?.more) cycle(page); }); // actions appear once we know who we are
if (location.pathname !== '/') api('/api/overview?limit=1').then((d) => setServices(d.services || []), () => {});
