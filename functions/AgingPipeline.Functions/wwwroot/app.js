// AgingPipeline web form. Plain JavaScript, no build step, no dependencies.
// Every piece of user data (file names, server messages) reaches the page through textContent or attributes,
// never through innerHTML.
'use strict';

(() => {
  const STORE_KEY = 'agingpipeline.jobs.v1';
  const AGES_KEY = 'agingpipeline.ages.v1';
  const REGION_KEY = 'agingpipeline.region.v1';
  const REGIONS = ['auto', 'faces', 'whole'];
  const MAX_STORED_JOBS = 200;
  const PARALLEL_UPLOADS = 3;
  const POLL_FIRST_MS = 1000;
  const POLL_GROWTH = 1.5;
  const POLL_MAX_MS = 15000;
  const POLL_ERROR_MAX_MS = 60000;

  const FALLBACK_CONFIG = {
    defaultAges: [20, 40, 60, 80], presetAges: [10, 20, 40, 60, 80], minAge: 5, maxAge: 90, maxAgesPerImage: 8,
    maxBytes: 50 * 1024 * 1024, maxPixels: 40000000, minDimension: 16, maxDimension: 12000,
    acceptedTypes: ['image/png', 'image/jpeg', 'image/webp'], acceptedExtensions: ['.png', '.jpg', '.jpeg', '.webp'],
    defaultRegion: 'auto',
  };

  /** Messages for error codes a person can act on better than on the server's sentence. */
  const FRIENDLY_ERRORS = {
    NoFaceFound: 'No face was found in this picture, and “Faces only” was chosen. Pick “Faces when found (auto)” or “Whole picture” and add it again.',
  };

  const STATE_LABELS = {
    ready: 'Ready', rejected: 'Not accepted', uploading: 'Uploading', queued: 'Queued',
    processing: 'Processing', done: 'Done', failed: 'Failed',
  };
  const FINAL = new Set(['done', 'failed', 'rejected']);

  const $ = (id) => document.getElementById(id);
  const ui = {
    notice: $('notice'), drop: $('drop'), pickFiles: $('pick-files'), pickFolder: $('pick-folder'),
    pickFilesButton: $('pick-files-button'), pickFolderButton: $('pick-folder-button'), limits: $('limits'),
    chips: $('age-chips'), customForm: $('custom-age-form'), customAge: $('custom-age'), agesNote: $('ages-note'),
    start: $('start'), startNote: $('start-note'), summary: $('summary'), clear: $('clear'), empty: $('empty'), jobs: $('jobs'),
    signIn: $('sign-in'),
  };

  let config = FALLBACK_CONFIG;
  let selectedRegion = 'auto';
  const selectedAges = new Set();
  const items = [];
  const uploadQueue = [];
  let activeUploads = 0;
  let nextKey = 1;

  // ---------- small helpers ----------

  /** Creates an element; props set attributes (text sets textContent, on* adds listeners). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
  }

  function extensionOf(name) {
    const dot = name.lastIndexOf('.');
    return dot < 0 ? '' : name.slice(dot).toLowerCase();
  }

  /** Same-origin job API paths only: a stored or returned URL can never point the page elsewhere. */
  function safeApiPath(path) {
    try {
      const url = new URL(path, location.origin);
      return url.origin === location.origin && url.pathname.startsWith('/api/jobs/') ? url.pathname + url.search : null;
    } catch {
      return null;
    }
  }

  /** Output links come from the job API; only plain http(s) URLs are used (the page's CSP limits their origin). */
  function safeImageUrl(url) {
    try {
      const parsed = new URL(url, location.origin);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function fileNameOfUrl(url) {
    try {
      return decodeURIComponent(new URL(url).pathname.split('/').pop() || '');
    } catch {
      return '';
    }
  }

  function showNotice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
  }

  // ---------- signing in (when the server serves signed-in users only) ----------
  //
  // Microsoft Entra ID, authorization code with PKCE as a single-page app: the page redirects to the tenant's authorize
  // endpoint, comes back with a code, and redeems it at the token endpoint itself (a "SPA" redirect URI allows that).
  // The access token lives in this tab's sessionStorage and goes with every API call; when it expires, or the API
  // answers 401, the page asks to sign in again.

  const AUTH_KEY = 'aging.auth.token';
  const AUTH_FLOW_KEY = 'aging.auth.flow';

  function authRequired() {
    return Boolean(config.auth && config.auth.required && config.auth.authority && config.auth.clientId);
  }

  function accessToken() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(AUTH_KEY) || 'null');
      return stored && typeof stored.token === 'string' && stored.expiresAt > Date.now() + 60000 ? stored.token : null;
    } catch {
      return null;
    }
  }

  /** Headers for an API call: the access token when the server asks for one. */
  function apiHeaders(headers) {
    const token = authRequired() ? accessToken() : null;
    return token ? { ...headers, Authorization: `Bearer ${token}` } : { ...headers };
  }

  function needsSignIn() {
    return authRequired() && !accessToken();
  }

  function base64Url(bytes) {
    return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function authEndpoint(name) {
    return `${config.auth.authority.replace(/\/v2\.0\/?$/, '')}/oauth2/v2.0/${name}`;
  }

  function redirectUri() {
    return `${location.origin}/`;
  }

  async function signIn() {
    const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = base64Url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    const state = base64Url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem(AUTH_FLOW_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(authEndpoint('authorize'));
    url.search = new URLSearchParams({
      client_id: config.auth.clientId, response_type: 'code', response_mode: 'query', redirect_uri: redirectUri(),
      scope: `${config.auth.scope} openid profile`, code_challenge: challenge, code_challenge_method: 'S256', state,
    }).toString();
    location.assign(url.toString());
  }

  function signedOut(message) {
    sessionStorage.removeItem(AUTH_KEY);
    updateSignIn();
    if (message) showNotice(message);
  }

  /** Finishes a sign-in when the page is the redirect target (?code=… or ?error=…). */
  async function completeSignIn() {
    const params = new URLSearchParams(location.search);
    const code = params.get('code');
    const error = params.get('error');
    if (!code && !error) return;
    history.replaceState(null, '', location.pathname);
    let flow = null;
    try {
      flow = JSON.parse(sessionStorage.getItem(AUTH_FLOW_KEY) || 'null');
    } catch { /* a damaged flow is a failed sign-in */ }
    sessionStorage.removeItem(AUTH_FLOW_KEY);
    if (error || !authRequired()) {
      showNotice(`Signing in failed: ${params.get('error_description') || error || 'sign-in is not configured'}.`);
      return;
    }
    if (!flow || flow.state !== params.get('state')) {
      showNotice('Signing in failed: the answer does not belong to this page. Sign in again.');
      return;
    }
    let response;
    let body = null;
    try {
      response = await fetch(authEndpoint('token'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: config.auth.clientId, grant_type: 'authorization_code', code, redirect_uri: redirectUri(),
          code_verifier: flow.verifier, scope: `${config.auth.scope} openid profile`,
        }),
      });
      body = await response.json().catch(() => null);
    } catch {
      response = null;
    }
    if (!response || !response.ok || !body || typeof body.access_token !== 'string') {
      showNotice(`Signing in failed: ${(body && body.error_description) || 'the sign-in service did not answer'}.`);
      return;
    }
    sessionStorage.setItem(AUTH_KEY, JSON.stringify({
      token: body.access_token, expiresAt: Date.now() + (Number(body.expires_in) || 3600) * 1000,
    }));
  }

  function updateSignIn() {
    ui.signIn.hidden = !needsSignIn();
    if (needsSignIn()) showNotice('Sign in to age images: this deployment serves signed-in users only.');
  }

  ui.signIn.addEventListener('click', () => signIn());

  /** Downloads of the API (zip, single outputs) go through fetch when a token must go with them. */
  document.addEventListener('click', async (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[download]') : null;
    if (!link || !authRequired()) return;
    const url = new URL(link.href, location.origin);
    if (url.origin !== location.origin || !url.pathname.startsWith('/api/')) return;
    event.preventDefault();
    const response = await fetch(url.pathname + url.search, { headers: apiHeaders({}) }).catch(() => null);
    if (!response || !response.ok) {
      if (response && response.status === 401) signedOut('Your sign-in has expired. Sign in again to download.');
      else showNotice('The download did not work. Try again.');
      return;
    }
    const objectUrl = URL.createObjectURL(await response.blob());
    const save = el('a', { href: objectUrl, download: link.getAttribute('download') || '' });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 60000);
  });

  // ---------- configuration and ages ----------

  async function loadConfig() {
    try {
      const response = await fetch('/api/config', { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      config = { ...FALLBACK_CONFIG, ...(await response.json()) };
    } catch {
      showNotice('The server\'s settings could not be loaded; using the usual limits. Uploads may still be refused.');
    }
    const accept = [...config.acceptedTypes, ...config.acceptedExtensions].join(',');
    ui.pickFiles.accept = accept;
    ui.limits.textContent = `PNG, JPEG or WebP, up to ${formatBytes(config.maxBytes)} each.`;
    ui.customAge.min = String(config.minAge);
    ui.customAge.max = String(config.maxAge);
    ui.customAge.placeholder = `${config.minAge}–${config.maxAge}`;

    let remembered = null;
    try {
      remembered = JSON.parse(localStorage.getItem(AGES_KEY) || 'null');
    } catch { /* ignore a damaged preference */ }
    const initial = Array.isArray(remembered) && remembered.length ? remembered : config.defaultAges;
    for (const age of initial) {
      if (validAge(age) && selectedAges.size < config.maxAgesPerImage) selectedAges.add(age);
    }
    renderChips();

    let rememberedRegion = null;
    try {
      rememberedRegion = localStorage.getItem(REGION_KEY);
    } catch { /* storage disabled */ }
    selectRegion(REGIONS.includes(rememberedRegion) ? rememberedRegion
      : REGIONS.includes(config.defaultRegion) ? config.defaultRegion : 'auto');
  }

  // ---------- region ----------

  function regionInputs() {
    return [...document.querySelectorAll('input[name="region"]')];
  }

  function selectRegion(region) {
    selectedRegion = region;
    for (const input of regionInputs()) input.checked = input.value === region;
  }

  for (const input of regionInputs()) {
    input.addEventListener('change', () => {
      if (!input.checked) return;
      selectedRegion = input.value;
      try {
        localStorage.setItem(REGION_KEY, selectedRegion);
      } catch { /* the choice is simply not remembered */ }
    });
  }

  /** "aged: 2 faces", "aged: whole picture — no face found", or '' before the job has succeeded. */
  function regionLine(job) {
    const region = job && job.region;
    if (!region || !region.applied) return '';
    if (region.applied === 'faces') {
      const count = Array.isArray(region.faces) ? region.faces.length : 0;
      return `aged: ${count} face${count === 1 ? '' : 's'}`;
    }
    if (region.requested === 'whole') return 'aged: whole picture';
    const reason = typeof region.reason === 'string' && region.reason
      ? region.reason.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase()) : 'no face found';
    return `aged: whole picture — ${reason}`;
  }

  /** The face boxes of a job, checked, in pixels of the orientation-applied input. */
  function facesOf(job) {
    const faces = job && job.region && Array.isArray(job.region.faces) ? job.region.faces : [];
    return faces.filter((f) => f && f.box && [f.box.x, f.box.y, f.box.width, f.box.height].every(Number.isFinite)
      && f.box.width > 0 && f.box.height > 0);
  }

  function validAge(age) {
    return Number.isInteger(age) && age >= config.minAge && age <= config.maxAge;
  }

  function renderChips() {
    const shown = new Set([...config.presetAges, ...selectedAges]);
    const ages = [...shown].filter(validAge).sort((a, b) => a - b);
    const focusedAge = document.activeElement?.dataset?.age;
    ui.chips.replaceChildren(...ages.map((age) => el('button', {
      type: 'button', class: 'chip', 'data-age': age, 'aria-pressed': selectedAges.has(age) ? 'true' : 'false',
      'aria-label': `${age} years`, text: String(age), onclick: () => toggleAge(age),
    })));
    if (focusedAge) ui.chips.querySelector(`[data-age="${Number(focusedAge)}"]`)?.focus();
    const count = selectedAges.size;
    ui.agesNote.textContent = count === 0
      ? 'Pick at least one age.'
      : `${count} of at most ${config.maxAgesPerImage} ages selected (${config.minAge}–${config.maxAge} years).`;
    try {
      localStorage.setItem(AGES_KEY, JSON.stringify([...selectedAges]));
    } catch { /* storage full or disabled: only the preference is lost */ }
    updateStart();
  }

  function toggleAge(age) {
    if (selectedAges.has(age)) {
      selectedAges.delete(age);
    } else if (selectedAges.size >= config.maxAgesPerImage) {
      ui.agesNote.textContent = `At most ${config.maxAgesPerImage} ages per image; unselect one first.`;
      return;
    } else {
      selectedAges.add(age);
    }
    renderChips();
  }

  ui.customForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.customAge.value.trim();
    const age = Number(text);
    if (!text || !validAge(age)) {
      ui.agesNote.textContent = `Enter a whole number of years from ${config.minAge} to ${config.maxAge}.`;
      ui.customAge.focus();
      return;
    }
    if (!selectedAges.has(age)) {
      if (selectedAges.size >= config.maxAgesPerImage) {
        ui.agesNote.textContent = `At most ${config.maxAgesPerImage} ages per image; unselect one first.`;
        return;
      }
      selectedAges.add(age);
    }
    ui.customAge.value = '';
    renderChips();
  });

  // ---------- adding files ----------

  /**
   * Client-side checks that the server would make in the same words; returns a refusal or null. Only what needs no
   * reading: an empty file and a file over the byte limit (the server's own sentence, from /api/config). The format is
   * judged by the server from the content, as for every other way in, never from the name or the browser's type.
   */
  function precheck(file) {
    if (file.size === 0) return { code: 'UnsupportedFormat', message: 'The file is empty.' };
    if (file.size > config.maxBytes) {
      return { code: 'ImageTooLarge', message: config.tooLargeMessage || `The file is larger than ${formatBytes(config.maxBytes)}, the most accepted.` };
    }
    return null;
  }

  function isImageCandidate(file) {
    const type = (file.type || '').toLowerCase();
    return type ? type.startsWith('image/') : config.acceptedExtensions.includes(extensionOf(file.name));
  }

  /** Adds files; files that came from a folder and are plainly not images are skipped and counted. */
  function addFiles(files, fromFolder) {
    let skipped = 0;
    const added = [];
    for (const file of files) {
      if (fromFolder && (file.name.startsWith('.') || !isImageCandidate(file))) {
        skipped++;
        continue;
      }
      const item = {
        key: nextKey++, file, name: file.name, size: file.size, ages: null, state: 'ready',
        objectUrl: URL.createObjectURL(file), progress: 0,
      };
      const refusal = precheck(file);
      if (refusal) {
        item.state = 'rejected';
        item.error = refusal;
      }
      added.push(item);
    }
    // Newest first on the page and in storage; files of one drop keep their order.
    items.unshift(...added);
    ui.jobs.prepend(...added.map(buildCard));
    added.forEach(update);
    showNotice(skipped ? `Skipped ${skipped} file${skipped === 1 ? '' : 's'} of the folder that ${skipped === 1 ? 'is' : 'are'} not PNG, JPEG or WebP images.` : '');
    refreshSummary();
  }

  /** Checks the decoded thumbnail against the pixel limits (the server checks the real header again). */
  function checkDimensions(item, img) {
    if (item.state !== 'ready') return;
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    if (!w || !h) return;
    if (w * h > config.maxPixels) {
      item.state = 'rejected';
      item.error = { code: 'TooManyPixels', message: `The image is ${w}×${h} pixels; at most ${(config.maxPixels / 1e6).toFixed(0)} megapixels are accepted.` };
    } else if (w > config.maxDimension || h > config.maxDimension || w < config.minDimension || h < config.minDimension) {
      item.state = 'rejected';
      item.error = { code: 'BadDimensions', message: `The image is ${w}×${h} pixels; sides must be ${config.minDimension}–${config.maxDimension} pixels.` };
    }
    if (item.state === 'rejected') {
      update(item);
      refreshSummary();
    }
  }

  ui.pickFilesButton.addEventListener('click', () => ui.pickFiles.click());
  ui.pickFolderButton.addEventListener('click', () => ui.pickFolder.click());
  ui.pickFiles.addEventListener('change', () => {
    addFiles([...ui.pickFiles.files], false);
    ui.pickFiles.value = '';
  });
  ui.pickFolder.addEventListener('change', () => {
    addFiles([...ui.pickFolder.files], true);
    ui.pickFolder.value = '';
  });

  // Dropping outside the zone must not navigate away from the page.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => event.preventDefault());
  ui.drop.addEventListener('dragenter', () => ui.drop.classList.add('over'));
  ui.drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', (event) => {
    if (!ui.drop.contains(event.relatedTarget)) ui.drop.classList.remove('over');
  });
  ui.drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    ui.drop.classList.remove('over');
    const transfer = event.dataTransfer;
    if (!transfer) return;
    const entries = [...(transfer.items || [])]
      .filter((i) => i.kind === 'file')
      .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
    if (entries.length && entries.every(Boolean) && entries.some((e) => e.isDirectory)) {
      const files = [];
      for (const entry of entries) await collectEntry(entry, files);
      addFiles(files, true);
    } else {
      addFiles([...transfer.files], false);
    }
  });

  /** Walks a dropped folder (readEntries returns at most ~100 entries per call). */
  async function collectEntry(entry, files) {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await collectEntry(child, files);
    }
  }

  // ---------- uploading ----------

  function readyItems() {
    return items.filter((i) => i.state === 'ready');
  }

  function updateStart() {
    const count = readyItems().length;
    ui.start.disabled = count === 0 || selectedAges.size === 0;
    ui.start.textContent = count > 1 ? `Age ${count} images` : 'Age image';
    if (count === 0) ui.startNote.textContent = items.length ? '' : 'Add images to start.';
    else if (selectedAges.size === 0) ui.startNote.textContent = 'Pick at least one age.';
    else ui.startNote.textContent = `Each image will be aged to ${[...selectedAges].sort((a, b) => a - b).join(', ')} years.`;
  }

  /**
   * Asks the server for a new batch. Batch ids are issued by the server, never made here: the id and its token (the
   * right to add files) come back once, and every upload of this start carries both, so files sent in parallel
   * requests land in one batch that nobody else can add to.
   */
  async function createBatch() {
    const response = await fetch('/api/batches', { method: 'POST', headers: apiHeaders({ Accept: 'application/json' }) });
    if (response.status === 401) signedOut('Your sign-in has expired. Sign in again.');
    const body = await response.json().catch(() => null);
    if (response.status !== 201 || !body || typeof body.batchId !== 'string' || typeof body.batchToken !== 'string') {
      throw problemOf(body, response.status);
    }
    return { batchId: body.batchId, batchToken: body.batchToken };
  }

  ui.start.addEventListener('click', async () => {
    const ages = [...selectedAges].sort((a, b) => a - b);
    const ready = readyItems();
    if (!ages.length || !ready.length) return;
    if (needsSignIn()) {
      signIn();
      return;
    }
    ui.start.disabled = true;
    let batch;
    try {
      batch = await createBatch();
    } catch (error) {
      showNotice(`The server could not start a batch (${error && error.message ? error.message : 'no answer'}). Try again.`);
      updateStart();
      return;
    }
    for (const item of ready) {
      item.ages = ages;
      item.region = selectedRegion;
      item.batchId = batch.batchId;
      item.batchToken = batch.batchToken;
      item.state = 'uploading';
      item.progress = 0;
      update(item);
      uploadQueue.push(item);
    }
    pumpUploads();
    refreshSummary();
    $('results-title').focus();
  });

  function pumpUploads() {
    while (activeUploads < PARALLEL_UPLOADS && uploadQueue.length) {
      const item = uploadQueue.shift();
      if (item.removed) continue;
      activeUploads++;
      upload(item).finally(() => {
        activeUploads--;
        pumpUploads();
      });
    }
  }

  /** One request per file: byte progress per file, and one refused file does not hold back the others. */
  function upload(item) {
    return new Promise((resolve) => {
      const form = new FormData();
      form.append('ages', item.ages.join(','));
      form.append('batchId', item.batchId);
      form.append('batchToken', item.batchToken);
      form.append('region', item.region || selectedRegion);
      form.append('files', item.file, item.name);
      const xhr = new XMLHttpRequest();
      item.xhr = xhr;
      xhr.open('POST', '/api/uploads');
      xhr.responseType = 'json';
      xhr.setRequestHeader('Accept', 'application/json');
      const token = authRequired() ? accessToken() : null;
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) {
          item.progress = event.loaded / event.total;
          update(item);
        }
      });
      xhr.addEventListener('load', () => {
        const body = xhr.response;
        const job = body && Array.isArray(body.jobs) ? body.jobs[0] : null;
        const statusUrl = job ? safeApiPath(job.statusUrl) : null;
        if (xhr.status === 202 && job && statusUrl) {
          item.jobId = String(job.jobId);
          item.statusUrl = statusUrl;
          item.state = 'queued';
          item.progress = 1;
          update(item);
          save();
          schedulePoll(item, POLL_FIRST_MS);
        } else {
          if (xhr.status === 401) signedOut('Your sign-in has expired. Sign in again, then retry.');
          fail(item, { ...problemOf(body, xhr.status), retryable: xhr.status === 401 || xhr.status === 0 || xhr.status >= 500 });
        }
        resolve();
      });
      xhr.addEventListener('error', () => {
        fail(item, { code: 'NetworkError', message: 'The upload did not reach the server. Check the connection and retry.', retryable: true });
        resolve();
      });
      xhr.addEventListener('abort', () => resolve());
      xhr.send(form);
    });
  }

  function problemOf(body, status) {
    const code = body && typeof body.code === 'string' ? body.code : `HTTP${status}`;
    const message = FRIENDLY_ERRORS[code] || (body && typeof body.detail === 'string' ? body.detail
      : body && typeof body.title === 'string' ? body.title : `The server answered ${status}.`);
    return { code, message, retryable: status === 0 || status >= 500 };
  }

  function fail(item, error) {
    item.state = 'failed';
    item.error = error;
    update(item);
    save();
    refreshSummary();
  }

  // ---------- following jobs ----------

  function schedulePoll(item, delay) {
    clearTimeout(item.timer);
    item.delay = Math.max(delay, POLL_FIRST_MS); // the base of the next back-off, never zero
    item.timer = setTimeout(() => poll(item), document.hidden ? Math.max(delay, 10000) : delay);
  }

  async function poll(item) {
    if (item.removed || !item.statusUrl) return;
    let response;
    try {
      response = await fetch(item.statusUrl, { headers: apiHeaders({ Accept: 'application/json' }), cache: 'no-store' });
    } catch {
      schedulePoll(item, Math.min(item.delay * 2, POLL_ERROR_MAX_MS));
      return;
    }
    if (response.status === 401) {
      signedOut('Your sign-in has expired. Sign in again to follow your images.');
      return;
    }
    if (response.status === 404) {
      fail(item, { code: 'NotFound', message: 'The server does not know this job (any more).' });
      return;
    }
    if (!response.ok) {
      schedulePoll(item, Math.min(item.delay * 2, POLL_ERROR_MAX_MS));
      return;
    }
    let job;
    try {
      job = await response.json();
    } catch {
      schedulePoll(item, Math.min(item.delay * 2, POLL_ERROR_MAX_MS));
      return;
    }
    apply(item, job);
  }

  function apply(item, job) {
    const before = item.state;
    item.job = job;
    if (!item.ages && Array.isArray(job.targetAges) && job.targetAges.length) item.ages = job.targetAges;
    switch (job.state) {
      case 'succeeded': item.state = 'done'; break;
      case 'failed': item.state = 'failed'; break;
      case 'processing': item.state = 'processing'; break;
      default: item.state = 'queued'; break;
    }
    item.error = job.error && item.state === 'failed'
      ? { code: String(job.error.code || 'Failed'), message: FRIENDLY_ERRORS[job.error.code] || String(job.error.message || 'The job failed.') }
      : null;
    update(item);
    if (item.state !== before) {
      save();
      refreshSummary();
    }
    if (!FINAL.has(item.state)) {
      schedulePoll(item, item.state !== before ? POLL_FIRST_MS : Math.min(item.delay * POLL_GROWTH, POLL_MAX_MS));
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    for (const item of items) {
      if (item.statusUrl && !FINAL.has(item.state)) schedulePoll(item, 0);
    }
  });

  // ---------- remembering jobs across reloads ----------

  function save() {
    const stored = items
      .filter((i) => i.jobId && i.statusUrl)
      .slice(0, MAX_STORED_JOBS)
      .map((i) => ({
        jobId: i.jobId, statusUrl: i.statusUrl, name: i.name, size: i.size, ages: i.ages, region: i.region, batchId: i.batchId,
        state: i.state, error: i.error && { code: i.error.code, message: i.error.message },
      }));
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(stored));
    } catch { /* storage full or disabled: jobs are not resumed after a reload */ }
  }

  function restore() {
    let stored = [];
    try {
      stored = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
    } catch { /* a damaged list is ignored */ }
    if (!Array.isArray(stored)) return;
    stored.forEach((entry, index) => {
      const statusUrl = entry && safeApiPath(entry.statusUrl);
      if (!statusUrl) return;
      const item = {
        key: nextKey++, file: null, name: String(entry.name || 'image'), size: Number(entry.size) || 0,
        ages: Array.isArray(entry.ages) ? entry.ages.filter(Number.isInteger) : null, batchId: entry.batchId,
        region: REGIONS.includes(entry.region) ? entry.region : null,
        jobId: String(entry.jobId), statusUrl, progress: 1, restored: true,
        // The last known state shows at once; the first poll brings fresh links (or a newer state).
        state: ['queued', 'processing', 'done', 'failed'].includes(entry.state) ? entry.state : 'queued',
        error: entry.error && typeof entry.error.code === 'string' && typeof entry.error.message === 'string'
          ? { code: entry.error.code, message: entry.error.message } : null,
      };
      items.push(item);
      ui.jobs.append(buildCard(item));
      update(item);
      schedulePoll(item, 150 * index);
    });
    refreshSummary();
  }

  // ---------- rendering ----------

  function buildCard(item) {
    const thumb = el('div', { class: 'thumb' });
    if (item.objectUrl) {
      const img = el('img', { src: item.objectUrl, alt: '', width: 72, height: 72 });
      img.addEventListener('load', () => checkDimensions(item, img));
      img.addEventListener('error', () => thumb.replaceChildren(el('span', { text: 'No preview' })));
      thumb.append(img);
    } else {
      thumb.append(el('span', { text: 'No preview' }));
    }
    const name = el('p', { class: 'name', title: item.name, text: item.name });
    const sub = el('p', { class: 'sub' });
    const badge = el('span', { class: 'badge' });
    const detail = el('span', { class: 'detail' });
    const bar = el('progress', { class: 'bar', max: 100, value: 0, 'aria-label': `Upload progress of ${item.name}` });
    const error = el('p', { class: 'error', role: 'alert' });
    const regionText = el('p', { class: 'region-line' });
    const zip = el('a', { class: 'button small', text: 'Download all (.zip)' });
    const retry = el('button', { type: 'button', class: 'button small', text: 'Retry', onclick: () => retryItem(item) });
    const remove = el('button', { type: 'button', class: 'button small subtle', text: 'Remove', 'aria-label': `Remove ${item.name}`, onclick: () => removeItem(item) });
    const results = el('div', { class: 'result-body' });
    const card = el('li', { class: 'card', 'data-key': item.key },
      el('div', { class: 'card-head' },
        thumb,
        el('div', { class: 'meta' }, name, sub, el('div', { class: 'status' }, badge, detail), regionText, bar, error),
        el('div', { class: 'card-actions' }, zip, retry, remove)),
      results);
    item.dom = { card, thumb, sub, badge, detail, regionText, bar, error, zip, retry, results, rendered: null };
    return card;
  }

  function update(item) {
    const d = item.dom;
    if (!d) return;
    d.card.dataset.state = item.state;
    d.badge.textContent = STATE_LABELS[item.state] || item.state;
    const parts = [];
    if (item.size) parts.push(formatBytes(item.size));
    if (item.ages && item.ages.length) parts.push(`ages ${item.ages.join(', ')}`);
    if (item.job && item.job.width && item.job.height) parts.push(`${item.job.width}×${item.job.height}`);
    d.sub.textContent = parts.join(' · ');
    const line = item.state === 'done' ? regionLine(item.job) : '';
    d.regionText.textContent = line;
    d.regionText.hidden = !line;

    const uploading = item.state === 'uploading';
    d.bar.hidden = !uploading;
    d.bar.value = Math.round((item.progress || 0) * 100);
    d.detail.textContent = uploading ? `${Math.round((item.progress || 0) * 100)}%`
      : item.state === 'queued' ? 'waiting for the model'
      : item.state === 'processing' ? 'the model is working' : '';

    if (item.error) {
      d.error.replaceChildren(document.createTextNode(`${item.error.message} `), el('code', { text: item.error.code }));
      d.error.hidden = false;
    } else {
      d.error.replaceChildren();
      d.error.hidden = true;
    }
    d.retry.hidden = !(item.state === 'failed' && item.file && !item.jobId && item.error && item.error.retryable);
    const done = item.state === 'done';
    d.zip.hidden = !done;
    if (done) {
      d.zip.href = `/api/jobs/${encodeURIComponent(item.jobId)}/download.zip`;
      d.zip.setAttribute('download', '');
    }
    renderResults(item);
  }

  /** Builds the results once per set of links (a reload brings fresh links; the same links are left alone). */
  function renderResults(item) {
    const d = item.dom;
    const job = item.job;
    const outputs = item.state === 'done' && job && Array.isArray(job.outputs)
      ? job.outputs.map((o) => ({ age: Number(o.age), url: safeImageUrl(o.url) })).filter((o) => o.url && Number.isInteger(o.age))
      : [];
    const signature = outputs.map((o) => o.url).join('|');
    if (d.rendered === signature) return;
    d.rendered = signature;
    if (!outputs.length) {
      d.results.replaceChildren();
      d.results.hidden = true;
      return;
    }
    if (job.width && job.height) d.card.style.setProperty('--ar', `${job.width} / ${job.height}`);
    if (!item.objectUrl) {
      d.thumb.replaceChildren(el('img', { src: outputs[0].url, alt: '', width: 72, height: 72 }));
    }

    const figures = el('ul', { class: 'outputs', 'aria-label': `Aged versions of ${item.name}` }, outputs.map((o) => {
      const fileName = fileNameOfUrl(o.url);
      return el('li', {},
        el('figure', { class: 'output' },
          el('img', { src: o.url, alt: `${item.name} at age ${o.age}`, width: job.width || undefined, height: job.height || undefined, 'data-age': o.age }),
          el('figcaption', {},
            el('span', { text: `Age ${o.age}` }),
            fileName ? el('a', {
              href: `/api/jobs/${encodeURIComponent(item.jobId)}/files/${encodeURIComponent(fileName)}`, download: fileName,
              text: 'Download', 'aria-label': `Download age ${o.age}`,
            }) : null)));
    }));

    const compare = buildCompare(item, outputs);
    const faces = buildFacesFigure(item, outputs);
    if (faces) compare.append(el('h3', { text: 'Faces found' }), faces);
    const blocks = [figures, compare];
    const sheetUrl = job.contactSheetUrl ? safeImageUrl(job.contactSheetUrl) : null;
    if (sheetUrl) {
      const sheetName = fileNameOfUrl(sheetUrl);
      const sheetImg = el('img', { class: 'sheet-image', alt: `Contact sheet of ${item.name}: the input and every age`, loading: 'lazy' });
      const details = el('details', { class: 'sheet' },
        el('summary', { text: 'Contact sheet' }),
        sheetImg,
        sheetName ? el('p', {}, el('a', {
          class: 'button small', href: `/api/jobs/${encodeURIComponent(item.jobId)}/files/${encodeURIComponent(sheetName)}`, download: sheetName,
          text: 'Download contact sheet',
        })) : null);
      details.addEventListener('toggle', () => {
        if (details.open && !sheetImg.src) sheetImg.src = sheetUrl;
      });
      blocks.push(details);
    }
    d.results.replaceChildren(...blocks);
    d.results.hidden = false;
  }

  /** The input (or, after a reload, the first output: same size and orientation) with the faces found drawn on it
   *  and their scores; null when the job aged no face. Boxes are placed in percent of the job's width and height, the
   *  pixels of the orientation-applied input, so they follow the preview at any size. */
  function buildFacesFigure(item, outputs) {
    const job = item.job;
    const faces = facesOf(job);
    if (!faces.length || !job.width || !job.height) return null;
    const base = item.objectUrl || outputs[0].url;
    const pct = (value, total) => `${Math.max(0, Math.min(100, (value / total) * 100)).toFixed(3)}%`;
    const boxes = faces.map((f) => {
      const score = Number.isFinite(f.score) ? `${Math.round(f.score * 100)}%` : '';
      const box = el('div', { class: 'face-box' }, score ? el('span', { text: score }) : null);
      box.style.left = pct(f.box.x, job.width);
      box.style.top = pct(f.box.y, job.height);
      box.style.width = pct(f.box.width, job.width);
      box.style.height = pct(f.box.height, job.height);
      return box;
    });
    const count = `${faces.length} face${faces.length === 1 ? '' : 's'}`;
    const scores = faces.map((f) => Number.isFinite(f.score) ? `${Math.round(f.score * 100)}%` : '?').join(', ');
    return el('figure', { class: 'faces' },
      el('div', { class: 'faces-stage' },
        el('img', { src: base, alt: `${item.name} with ${count} found (scores ${scores})`, width: job.width, height: job.height }),
        el('div', { 'aria-hidden': 'true' }, boxes)),
      el('figcaption', {}, el('span', { text: item.objectUrl ? `Input · ${count}` : `Faces found · ${count}` })));
  }

  /** Before/after comparison: the "after" image lies on top and is clipped at the slider's position. */
  function buildCompare(item, outputs) {
    const sources = [];
    if (item.objectUrl) sources.push({ label: 'Original', url: item.objectUrl });
    for (const o of outputs) sources.push({ label: `Age ${o.age}`, url: o.url });
    const beforeIndex = 0;
    const afterIndex = sources.length - 1;
    const id = `cmp-${item.key}`;

    const beforeImg = el('img', { class: 'before', alt: '', src: sources[beforeIndex].url });
    const afterImg = el('img', { class: 'after', alt: '', src: sources[afterIndex].url });
    const leftTag = el('span', { class: 'tag left', text: sources[beforeIndex].label });
    const rightTag = el('span', { class: 'tag right', text: sources[afterIndex].label });
    const stage = el('div', { class: 'compare', 'aria-hidden': 'true' }, beforeImg, afterImg, el('span', { class: 'divider' }), leftTag, rightTag);
    const options = (selected) => sources.map((s, i) => el('option', { value: i, selected: i === selected, text: s.label }));
    const beforeSelect = el('select', { id: `${id}-before` }, options(beforeIndex));
    const afterSelect = el('select', { id: `${id}-after` }, options(afterIndex));
    const range = el('input', {
      id: `${id}-range`, type: 'range', min: 0, max: 100, step: 1, value: 50,
      'aria-valuetext': `${sources[beforeIndex].label} on the left, ${sources[afterIndex].label} from 50%`,
    });

    const setPosition = (value) => {
      stage.style.setProperty('--pos', `${value}%`);
      range.setAttribute('aria-valuetext', `${beforeSelect.selectedOptions[0].text} left of ${value}%, ${afterSelect.selectedOptions[0].text} right of it`);
    };
    const pick = (select, img, tag) => {
      const source = sources[Number(select.value)];
      if (!source) return;
      img.src = source.url;
      tag.textContent = source.label;
      setPosition(range.value);
    };
    range.addEventListener('input', () => setPosition(range.value));
    beforeSelect.addEventListener('change', () => pick(beforeSelect, beforeImg, leftTag));
    afterSelect.addEventListener('change', () => pick(afterSelect, afterImg, rightTag));
    const drag = (event) => {
      const box = stage.getBoundingClientRect();
      const value = Math.round(Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)) * 100);
      range.value = String(value);
      setPosition(value);
    };
    stage.addEventListener('pointerdown', (event) => {
      stage.setPointerCapture(event.pointerId);
      drag(event);
    });
    stage.addEventListener('pointermove', (event) => {
      if (stage.hasPointerCapture(event.pointerId)) drag(event);
    });
    setPosition(50);

    return el('div', { class: 'compare-block' },
      el('h3', { text: 'Before / after' }),
      stage,
      el('div', { class: 'compare-controls' },
        el('label', { for: beforeSelect.id, text: 'Left' }), beforeSelect,
        el('label', { for: afterSelect.id, text: 'Right' }), afterSelect,
        el('label', { for: range.id, text: 'Split' }), range));
  }

  function refreshSummary() {
    const counts = {};
    for (const item of items) counts[item.state] = (counts[item.state] || 0) + 1;
    const order = ['uploading', 'queued', 'processing', 'done', 'failed', 'rejected', 'ready'];
    ui.summary.textContent = order.filter((s) => counts[s]).map((s) => `${counts[s]} ${STATE_LABELS[s].toLowerCase()}`).join(' · ');
    ui.empty.hidden = items.length > 0;
    ui.clear.hidden = !items.some((i) => FINAL.has(i.state));
    updateStart();
  }

  function removeItem(item) {
    item.removed = true;
    clearTimeout(item.timer);
    if (item.xhr && item.state === 'uploading') item.xhr.abort();
    if (item.objectUrl) URL.revokeObjectURL(item.objectUrl);
    item.dom?.card.remove();
    const index = items.indexOf(item);
    if (index >= 0) items.splice(index, 1);
    save();
    refreshSummary();
  }

  function retryItem(item) {
    item.error = null;
    item.state = 'uploading';
    item.progress = 0;
    update(item);
    uploadQueue.push(item);
    pumpUploads();
    refreshSummary();
  }

  /** Read links expire after a few minutes: an output that no longer loads asks the job API for fresh ones. */
  ui.jobs.addEventListener('error', (event) => {
    const img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.closest('.result-body') || img.src.startsWith('blob:')) return;
    const key = Number(img.closest('.card')?.dataset.key);
    const item = items.find((i) => i.key === key);
    if (!item || !item.statusUrl || (item.linksRefreshedAt && Date.now() - item.linksRefreshedAt < 30000)) return;
    item.linksRefreshedAt = Date.now();
    schedulePoll(item, 0);
  }, true);

  ui.clear.addEventListener('click', () => {
    for (const item of items.filter((i) => FINAL.has(i.state))) removeItem(item);
    ui.start.focus();
  });

  loadConfig().then(completeSignIn).finally(() => {
    updateSignIn();
    if (!needsSignIn()) restore();
    refreshSummary();
  });
})();
