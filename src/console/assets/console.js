// The appconfigd console: a small single-page app over the public AppConfig REST API.
//
// Everything it shows comes from the same restJson1 calls the AWS SDKs make, signed with
// SigV4 (sigv4.js) when keys are entered in Settings, so it sees what those keys may see.
// Views are rebuilt from the URL hash; the environment view polls every second while a
// deployment runs (every 3 s otherwise), so its progress, events and extension calls appear as
// they happen.
(function () {
  'use strict';

  var ACTIVE = ['VALIDATING', 'DEPLOYING', 'BAKING', 'ROLLING_BACK'];
  // Poll fast while a deployment runs; slower otherwise, just to notice new deployments.
  var POLL_MS = 1000;
  var IDLE_POLL_MS = 3000;
  var view = document.getElementById('view');
  var errorBanner = document.getElementById('error');
  // Bumped on every navigation; pollers of an old view see the change and stop.
  var generation = 0;

  // ---- settings (sessionStorage: gone when the tab closes) ------------------------------

  var KEYS = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'region'];

  function settings() {
    var s = {};
    KEYS.forEach(function (k) { s[k] = sessionStorage.getItem('appconfigd.' + k) || ''; });
    if (!s.region) s.region = 'us-east-1';
    return s;
  }

  function saveSettings(s) {
    KEYS.forEach(function (k) {
      if (s[k]) sessionStorage.setItem('appconfigd.' + k, s[k]);
      else sessionStorage.removeItem('appconfigd.' + k);
    });
    showSigningStatus();
  }

  function showSigningStatus() {
    var s = settings();
    document.getElementById('signing-status').textContent = s.accessKeyId && s.secretAccessKey
      ? 'signing as ' + s.accessKeyId + ' (' + s.region + ')'
      : 'unsigned requests';
  }

  // ---- API ----------------------------------------------------------------------------

  function path() {
    return '/' + Array.prototype.map.call(arguments, function (p) { return SigV4.uriEncode(String(p)); }).join('/');
  }

  function ApiError(status, type, message) {
    this.status = status;
    this.type = type;
    this.message = message;
  }

  // One API call. opts: {query, body, headers, raw}. Resolves to parsed JSON (or the
  // Response itself with raw), rejects with ApiError.
  function api(method, urlPath, opts) {
    opts = opts || {};
    var query = Object.keys(opts.query || {}).filter(function (k) {
      return opts.query[k] !== undefined && opts.query[k] !== null;
    }).map(function (k) {
      return SigV4.uriEncode(k) + '=' + SigV4.uriEncode(String(opts.query[k]));
    }).join('&');
    var headers = Object.assign({}, opts.headers || {});
    var body;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
    var s = settings();
    if (s.accessKeyId && s.secretAccessKey) {
      Object.assign(headers, SigV4.sign({
        method: method, path: urlPath, query: query, host: location.host, body: body || '',
        region: s.region, service: 'appconfig', accessKeyId: s.accessKeyId,
        secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken || undefined
      }));
    }
    return fetch(urlPath + (query ? '?' + query : ''), { method: method, headers: headers, body: body })
      .then(function (resp) {
        if (!resp.ok) {
          return resp.text().then(function (text) {
            var parsed = {};
            try { parsed = JSON.parse(text); } catch (e) { /* not JSON */ }
            var type = resp.headers.get('x-amzn-ErrorType') || parsed.__type || ('HTTP ' + resp.status);
            throw new ApiError(resp.status, type.split(':')[0], parsed.Message || parsed.message || text);
          });
        }
        if (opts.raw) return resp;
        return resp.text().then(function (text) { return text ? JSON.parse(text) : {}; });
      });
  }

  // Every page of a list operation.
  function listAll(urlPath, query) {
    var items = [];
    function page(token) {
      var q = Object.assign({ max_results: 50 }, query || {});
      if (token) q.next_token = token;
      return api('GET', urlPath, { query: q }).then(function (r) {
        items = items.concat(r.Items || []);
        return r.NextToken ? page(r.NextToken) : items;
      });
    }
    return page(null);
  }

  function showError(err) {
    if (!err) { errorBanner.hidden = true; return; }
    var text = err instanceof ApiError ? err.type + ': ' + err.message : String(err);
    if (err instanceof ApiError && err.status === 403) {
      text += ' (enter an access key in Settings)';
    }
    errorBanner.textContent = text;
    errorBanner.hidden = false;
  }

  // ---- DOM helpers (text only: names and content come from users) -----------------------

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') node.textContent = v;
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function table(id, headings, rows, empty) {
    if (!rows.length) return el('p', { id: id, 'class': 'muted' }, empty || 'None.');
    return el('table', { id: id },
      el('thead', null, el('tr', null, headings.map(function (h) { return el('th', { text: h }); }))),
      el('tbody', null, rows));
  }

  function stateBadge(state, id) {
    return el('span', { id: id, 'class': 'state state-' + state, text: state });
  }

  function toDate(v) {
    if (v === undefined || v === null || v === '') return null;
    return typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  }

  function when(v) {
    var d = toDate(v);
    return d ? d.toLocaleString() : '';
  }

  function setView(title, crumbs) {
    view.textContent = '';
    if (crumbs) view.appendChild(el('div', { 'class': 'crumbs' }, crumbs));
    view.appendChild(el('h1', { text: title }));
    return view;
  }

  function crumbLinks(pairs) {
    var out = [];
    pairs.forEach(function (p, i) {
      if (i) out.push(' / ');
      out.push(p[1] ? el('a', { href: p[1], text: p[0] }) : p[0]);
    });
    return out;
  }

  function highlightNav(name) {
    document.querySelectorAll('header nav a').forEach(function (a) {
      a.classList.toggle('active', a.getAttribute('data-nav') === name);
    });
  }

  // ---- views ----------------------------------------------------------------------------

  function viewApplications() {
    highlightNav('apps');
    return listAll('/applications').then(function (apps) {
      setView('Applications');
      view.appendChild(table('applications', ['Name', 'Id', 'Description'], apps.map(function (a) {
        return el('tr', { 'data-id': a.Id },
          el('td', null, el('a', { href: '#/apps/' + a.Id, text: a.Name })),
          el('td', null, el('code', { text: a.Id })),
          el('td', { text: a.Description || '' }));
      }), 'No applications yet: create one with an SDK, the AWS CLI or `appconfigd import`.'));
    });
  }

  function viewApplication(appId) {
    highlightNav('apps');
    return Promise.all([
      api('GET', path('applications', appId)),
      listAll(path('applications', appId, 'environments')),
      listAll(path('applications', appId, 'configurationprofiles'))
    ]).then(function (r) {
      var app = r[0], envs = r[1], profiles = r[2];
      setView(app.Name, crumbLinks([['Applications', '#/'], [app.Name]]));
      if (app.Description) view.appendChild(el('p', { 'class': 'muted', text: app.Description }));
      view.appendChild(el('h2', { text: 'Environments' }));
      view.appendChild(table('environments', ['Name', 'Id', 'State', 'Monitors'], envs.map(function (e) {
        return el('tr', { 'data-id': e.Id },
          el('td', null, el('a', { href: '#/apps/' + appId + '/envs/' + e.Id, text: e.Name })),
          el('td', null, el('code', { text: e.Id })),
          el('td', null, stateBadge(e.State)),
          el('td', { text: String((e.Monitors || []).length) }));
      })));
      view.appendChild(el('h2', { text: 'Configuration profiles' }));
      view.appendChild(table('profiles', ['Name', 'Id', 'Type', 'Location', 'Validators'], profiles.map(function (p) {
        return el('tr', { 'data-id': p.Id },
          el('td', null, el('a', { href: '#/apps/' + appId + '/profiles/' + p.Id, text: p.Name })),
          el('td', null, el('code', { text: p.Id })),
          el('td', { text: p.Type || 'AWS.Freeform' }),
          el('td', null, el('code', { text: p.LocationUri })),
          el('td', { text: (p.ValidatorTypes || []).join(', ') }));
      })));
      return experiments.section(appId, envs, profiles);
    });
  }

  function viewProfile(appId, profileId) {
    highlightNav('apps');
    return Promise.all([
      api('GET', path('applications', appId)),
      api('GET', path('applications', appId, 'configurationprofiles', profileId)),
      listAll(path('applications', appId, 'configurationprofiles', profileId, 'hostedconfigurationversions'))
    ]).then(function (r) {
      var app = r[0], profile = r[1], versions = r[2];
      setView(profile.Name, crumbLinks([['Applications', '#/'], [app.Name, '#/apps/' + appId], [profile.Name]]));
      view.appendChild(el('dl', { 'class': 'kv card' },
        el('dt', { text: 'Id' }), el('dd', null, el('code', { text: profile.Id })),
        el('dt', { text: 'Type' }), el('dd', { text: profile.Type || 'AWS.Freeform' }),
        el('dt', { text: 'Location' }), el('dd', null, el('code', { text: profile.LocationUri })),
        el('dt', { text: 'Validators' }), el('dd', { text: (profile.Validators || []).map(function (v) { return v.Type; }).join(', ') || 'none' })));
      view.appendChild(el('h2', { text: 'Hosted configuration versions' }));
      var contentBox = el('pre', { id: 'version-content', hidden: true });
      view.appendChild(table('versions', ['Version', 'Label', 'Content type', 'Description', ''], versions.map(function (v) {
        return el('tr', { 'data-version': v.VersionNumber },
          el('td', { text: String(v.VersionNumber) }),
          el('td', { text: v.VersionLabel || '' }),
          el('td', { text: v.ContentType || '' }),
          el('td', { text: v.Description || '' }),
          el('td', null, el('button', { onclick: function () {
            versionText(appId, profileId, v.VersionNumber).then(function (t) {
              contentBox.textContent = t;
              contentBox.hidden = false;
            }).catch(showError);
          } }, 'Show')));
      }), 'No hosted versions.'));
      view.appendChild(contentBox);
      if (versions.length >= 2) {
        var options = function (selected) {
          return versions.map(function (v) {
            return el('option', { value: v.VersionNumber, selected: v.VersionNumber === selected, text: 'Version ' + v.VersionNumber + (v.VersionLabel ? ' (' + v.VersionLabel + ')' : '') });
          });
        };
        var from = el('select', { id: 'diff-from' }, options(versions[versions.length - 2].VersionNumber));
        var to = el('select', { id: 'diff-to' }, options(versions[versions.length - 1].VersionNumber));
        var out = el('pre', { id: 'diff', hidden: true });
        view.appendChild(el('h2', { text: 'Compare versions' }));
        view.appendChild(el('div', { 'class': 'actions' }, from, ' → ', to,
          el('button', { id: 'diff-button', 'class': 'primary', onclick: function () {
            Promise.all([versionText(appId, profileId, from.value), versionText(appId, profileId, to.value)])
              .then(function (t) { renderDiff(out, t[0], t[1]); }).catch(showError);
          } }, 'Diff')));
        view.appendChild(out);
      }
      if (profile.Type === 'AWS.AppConfig.FeatureFlags' && versions.length) {
        var newest = versions[versions.length - 1].VersionNumber;
        return Promise.all([
          versionText(appId, profileId, newest),
          listAll(path('applications', appId, 'environments'))
        ]).then(function (r) { flagsSection(appId, profileId, newest, r[0], r[1]); });
      }
    });
  }

  // ---- feature flags: variants, and "try a context" ---------------------------------------

  function parseDocument(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // The flags of one stored-form document, each with its variants (empty for a basic flag).
  function flagRows(doc) {
    var flags = (doc && doc.flags) || {};
    var values = (doc && doc.values) || {};
    return Object.keys(flags).map(function (key) {
      var value = values[key] || {};
      return { key: key, name: flags[key].name || '', enabled: value.enabled, variants: value._variants || [] };
    });
  }

  function flagsSection(appId, profileId, number, text, envs) {
    var rows = flagRows(parseDocument(text));
    view.appendChild(el('h2', { text: 'Feature flags (version ' + number + ')' }));
    view.appendChild(table('flags', ['Flag', 'Name', 'Variants (in evaluation order)'], rows.map(function (f) {
      var variants = f.variants.length
        ? el('ol', { 'class': 'variants' }, f.variants.map(function (v) {
          return el('li', { 'data-variant': v.name },
            el('strong', { text: v.name }), ' ', el('span', { 'class': 'muted', text: v.enabled ? 'enabled' : 'disabled' }), ' ',
            el('code', { text: v.rule ? v.rule : '(default: no rule)' }));
        }))
        : el('span', { 'class': 'muted', text: 'basic flag: ' + (f.enabled ? 'enabled' : 'disabled') });
      return el('tr', { 'data-flag': f.key }, el('td', null, el('code', { text: f.key })), el('td', { text: f.name }), el('td', null, variants));
    }), 'No flags in this version.'));
    if (!rows.length) return;
    view.appendChild(el('h2', { text: 'Try a context' }));
    if (!envs.length) {
      view.appendChild(el('p', { 'class': 'muted', text: 'Create an environment and deploy this profile to try a context.' }));
      return;
    }
    var env = el('select', { id: 'try-env' }, envs.map(function (e) { return el('option', { value: e.Id, text: e.Name }); }));
    var flag = el('select', { id: 'try-flag' }, rows.map(function (f) { return el('option', { value: f.key, text: f.key }); }));
    var context = el('textarea', { id: 'try-context', rows: 3, cols: 40, placeholder: 'key=value, one per line' });
    var result = el('div', { id: 'try-result', 'class': 'card', hidden: true });
    view.appendChild(el('div', { 'class': 'actions' }, env, flag, context,
      el('button', { id: 'try-button', 'class': 'primary', onclick: function () {
        tryContext(appId, profileId, env.value, flag.value, context.value, result);
      } }, 'Evaluate')));
    view.appendChild(result);
  }

  // Asks the agent-compatible read path (the server's own evaluator, on what is deployed in the
  // chosen environment), then explains the answer with the deployed version's variant rules.
  function tryContext(appId, profileId, envId, flagKey, contextText, out) {
    var pairs = contextText.split('\n').map(function (l) { return l.trim(); }).filter(Boolean);
    var headers = pairs.length ? { Context: pairs.join(',') } : {};
    var answer, version;
    api('GET', path('applications', appId, 'environments', envId, 'configurations', profileId),
      { query: { flag: flagKey }, headers: headers, raw: true })
      .then(function (resp) {
        version = resp.headers.get('Configuration-Version');
        return resp.text();
      })
      .then(function (body) {
        answer = JSON.parse(body);
        return versionText(appId, profileId, version);
      })
      .then(function (text) {
        var row = flagRows(parseDocument(text)).filter(function (f) { return f.key === flagKey; })[0];
        var why;
        if (!row || !row.variants.length) {
          why = 'A basic flag: the context does not change it.';
        } else {
          var chosen = row.variants.filter(function (v) { return v.name === answer._variant; })[0];
          why = chosen && chosen.rule
            ? 'First matching rule: ' + chosen.rule
            : 'No rule matched: the default variant.';
        }
        out.textContent = '';
        append(out, [
          el('p', null, 'Variant: ', el('strong', { id: 'try-variant', text: answer._variant || '(none)' }),
            el('span', { 'class': 'muted', text: ' (deployed version ' + version + ')' })),
          el('p', { id: 'try-why', text: why }),
          el('pre', { id: 'try-answer', text: JSON.stringify(answer, null, 2) })
        ]);
        out.hidden = false;
        showError(null);
      })
      .catch(showError);
  }

  function versionText(appId, profileId, number) {
    return api('GET', path('applications', appId, 'configurationprofiles', profileId, 'hostedconfigurationversions', number), { raw: true })
      .then(function (resp) { return resp.text(); });
  }

  // Line diff by longest common subsequence (configurations are small; past ~4M cells the
  // table would be too big, so fall back to "all removed, all added").
  function lineDiff(a, b) {
    var x = a.split('\n'), y = b.split('\n');
    var n = x.length, m = y.length, out = [];
    if (n * m > 4000000) {
      x.forEach(function (l) { out.push(['-', l]); });
      y.forEach(function (l) { out.push(['+', l]); });
      return out;
    }
    var lcs = [];
    for (var i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
    for (i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    i = 0; j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
      else if (lcs[i + 1][j] >= lcs[i][j + 1]) { out.push(['-', x[i]]); i++; }
      else { out.push(['+', y[j]]); j++; }
    }
    for (; i < n; i++) out.push(['-', x[i]]);
    for (; j < m; j++) out.push(['+', y[j]]);
    return out;
  }

  function renderDiff(out, before, after) {
    out.textContent = '';
    var classes = { '+': 'diff-add', '-': 'diff-del', ' ': 'diff-same' };
    lineDiff(before, after).forEach(function (d) {
      out.appendChild(el('span', { 'class': classes[d[0]], text: d[0] + ' ' + d[1] }));
    });
    out.hidden = false;
  }

  // ---- environment: the live deployment view ------------------------------------------------

  function viewEnvironment(appId, envId, wanted) {
    highlightNav('apps');
    var gen = generation;
    return Promise.all([
      api('GET', path('applications', appId)),
      api('GET', path('applications', appId, 'environments', envId))
    ]).then(function (r) {
      var app = r[0], env = r[1];
      setView(env.Name, crumbLinks([['Applications', '#/'], [app.Name, '#/apps/' + appId], [env.Name]]));
      var envState = el('span');
      view.appendChild(el('p', null, 'Environment state: ', envState, ' ', el('code', { 'class': 'muted', text: env.Id })));
      var live = el('div', { id: 'live', 'class': 'card' }, el('p', { 'class': 'muted', text: 'No deployments yet.' }));
      view.appendChild(el('h2', { text: 'Deployment' }));
      view.appendChild(live);
      view.appendChild(el('h2', { text: 'All deployments' }));
      var list = el('div');
      view.appendChild(list);
      var card = null;
      var running = false;

      function tick() {
        if (gen !== generation) return;
        Promise.all([
          listAll(path('applications', appId, 'environments', envId, 'deployments')),
          api('GET', path('applications', appId, 'environments', envId))
        ]).then(function (r) {
          var deps = r[0];
          envState.textContent = '';
          envState.appendChild(stateBadge(r[1].State, 'environment-state'));
          list.textContent = '';
          list.appendChild(table('deployments', ['#', 'Configuration', 'Version', 'State', 'Progress', 'Started', 'Completed'], deps.map(function (d) {
            return el('tr', { 'data-number': d.DeploymentNumber },
              el('td', null, el('a', { href: '#/apps/' + appId + '/envs/' + envId + '/deployments/' + d.DeploymentNumber, text: String(d.DeploymentNumber) })),
              el('td', { text: d.ConfigurationName }),
              el('td', { text: d.ConfigurationVersion + (d.VersionLabel ? ' (' + d.VersionLabel + ')' : '') }),
              el('td', null, stateBadge(d.State)),
              el('td', { text: pct(d.PercentageComplete) }),
              el('td', { text: when(d.StartedAt) }),
              el('td', { text: when(d.CompletedAt) }));
          })));
          var number = wanted || (deps[0] && deps[0].DeploymentNumber);
          if (!number) return null;
          return api('GET', path('applications', appId, 'environments', envId, 'deployments', number));
        }).then(function (d) {
          if (gen !== generation || !d) return;
          if (!card || card.number !== d.DeploymentNumber) {
            card = deploymentCard(appId, envId, d.DeploymentNumber);
            live.textContent = '';
            live.appendChild(card.node);
          }
          card.update(d, deploymentIsNewest(d));
          running = ACTIVE.indexOf(d.State) >= 0;
          showError(null);
        }).catch(showError).then(function () {
          if (gen === generation) setTimeout(tick, running ? POLL_MS : IDLE_POLL_MS);
        });
      }
      function deploymentIsNewest(d) {
        var rows = list.querySelectorAll('tr[data-number]');
        return rows.length > 0 && Number(rows[0].getAttribute('data-number')) === d.DeploymentNumber;
      }
      tick();
    });
  }

  function pct(v) {
    return (Number(v) || 0).toFixed(1) + '%';
  }

  // The card for one deployment; built once, updated on every poll (buttons stay the same
  // nodes, so a click is never lost to a re-render).
  function deploymentCard(appId, envId, number) {
    var title = el('h3', { id: 'deployment-title' });
    var state = el('span');
    var percentage = el('strong', { id: 'deployment-percentage' });
    var bar = el('div');
    var facts = el('dl', { 'class': 'kv' });
    var chart = el('div', { id: 'chart' });
    var events = el('div');
    var stopped = false;
    var stop = el('button', { id: 'stop-deployment', 'class': 'danger', onclick: function () {
      if (!confirm('Stop deployment #' + number + '? It rolls back at once.')) return;
      stopDeployment(false);
    } }, 'Stop deployment');
    var rollback = el('button', { id: 'rollback-deployment', 'class': 'danger', onclick: function () {
      if (!confirm('Roll back (revert) completed deployment #' + number + '?')) return;
      stopDeployment(true);
    } }, 'Roll back');
    function stopDeployment(revert) {
      stopped = true;
      stop.disabled = rollback.disabled = true;
      api('DELETE', path('applications', appId, 'environments', envId, 'deployments', number),
        revert ? { headers: { 'Allow-Revert': 'true' } } : {}).then(function () { showError(null); })
        .catch(function (e) { stopped = false; showError(e); });
    }
    var node = el('div', { 'data-number': number },
      title,
      el('p', null, state, ' ', percentage),
      el('div', { 'class': 'progress' }, bar),
      el('div', { 'class': 'actions' }, stop, rollback),
      el('div', { 'class': 'grid' }, facts, chart),
      el('h3', { text: 'Event log' }),
      events);
    return {
      number: number,
      node: node,
      update: function (d, isNewest) {
        title.textContent = 'Deployment #' + d.DeploymentNumber + ': ' + d.ConfigurationName + ' version ' + d.ConfigurationVersion;
        state.textContent = '';
        state.appendChild(stateBadge(d.State, 'deployment-state'));
        percentage.textContent = pct(d.PercentageComplete);
        bar.style.width = Math.max(0, Math.min(100, d.PercentageComplete || 0)) + '%';
        var active = ACTIVE.indexOf(d.State) >= 0;
        stop.hidden = !active;
        stop.disabled = stopped || !active;
        rollback.hidden = !(d.State === 'COMPLETE' && isNewest);
        rollback.disabled = stopped || rollback.hidden;
        facts.textContent = '';
        [['Strategy', d.DeploymentStrategyId], ['Growth', d.GrowthType + ' ' + d.GrowthFactor + '%'],
         ['Duration', d.DeploymentDurationInMinutes + ' min, bake ' + d.FinalBakeTimeInMinutes + ' min'],
         ['Started', when(d.StartedAt)], ['Completed', when(d.CompletedAt)],
         ['Extensions', (d.AppliedExtensions || []).map(function (x) { return x.ExtensionId; }).join(', ') || 'none']
        ].forEach(function (kv) {
          facts.appendChild(el('dt', { text: kv[0] }));
          facts.appendChild(el('dd', { text: kv[1] || '' }));
        });
        chart.textContent = '';
        chart.appendChild(progressChart(d));
        events.textContent = '';
        events.appendChild(eventTable(d.EventLog || []));
      }
    };
  }

  // PercentageComplete over time, from the event log (every step is an event), plus the
  // current value at "now" while the deployment runs.
  function progressPoints(d) {
    var points = [];
    (d.EventLog || []).slice().reverse().forEach(function (e) {
      var t = toDate(e.OccurredAt);
      if (!t) return;
      var p = null;
      if (e.EventType === 'DEPLOYMENT_STARTED') p = 0;
      else if (e.EventType === 'PERCENTAGE_UPDATED') {
        var m = /([\d.]+)%/.exec(e.Description || '');
        p = m ? Number(m[1]) : null;
      } else if (e.EventType === 'BAKE_TIME_STARTED' || e.EventType === 'DEPLOYMENT_COMPLETED') p = 100;
      else if (e.EventType === 'ROLLBACK_COMPLETED' || e.EventType === 'REVERT_COMPLETED') p = 0;
      if (p !== null) points.push({ t: t.getTime(), p: p });
    });
    if (!points.length) {
      var start = toDate(d.StartedAt);
      if (start) points.push({ t: start.getTime(), p: 0 });
    }
    return points;
  }

  function progressChart(d) {
    var active = ACTIVE.indexOf(d.State) >= 0;
    return stepChart({
      id: 'progress-chart', label: 'PercentageComplete over time', points: progressPoints(d),
      live: active, liveValue: d.PercentageComplete
    });
  }

  // A step chart of percentages over time (the value holds until the next point). opts: id,
  // label, points [{t (ms), p}], and live (extend to "now" at liveValue, for a running thing).
  function stepChart(opts) {
    var ns = 'http://www.w3.org/2000/svg';
    var W = 520, H = 200, L = 40, R = 10, T = 10, B = 28;
    var points = opts.points;
    var last = points.length ? points[points.length - 1] : null;
    var end = last ? last.t : Date.now();
    if (opts.live) end = Math.max(end, Date.now());
    var start = points.length ? points[0].t : end;
    var span = Math.max(end - start, 1000);
    function x(t) { return L + (t - start) / span * (W - L - R); }
    function y(p) { return T + (1 - p / 100) * (H - T - B); }
    function svg(tag, attrs) {
      var n = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) { if (k !== 'text') n.setAttribute(k, attrs[k]); });
      if (attrs.text !== undefined) n.textContent = attrs.text;
      return n;
    }
    var root = svg('svg', {
      id: opts.id, 'class': 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': opts.label,
      'data-points': points.map(function (p) { return p.p; }).join(',')
    });
    [0, 25, 50, 75, 100].forEach(function (p) {
      root.appendChild(svg('line', { 'class': 'gridline', x1: L, x2: W - R, y1: y(p), y2: y(p) }));
      root.appendChild(svg('text', { x: 4, y: y(p) + 4, text: p + '%' }));
    });
    root.appendChild(svg('line', { 'class': 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    root.appendChild(svg('line', { 'class': 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    root.appendChild(svg('text', { x: L, y: H - 8, text: new Date(start).toLocaleTimeString() }));
    root.appendChild(svg('text', { x: W - R - 60, y: H - 8, text: Math.round(span / 1000) + ' s' }));
    var coords = [];
    points.forEach(function (pt, i) {
      if (i) coords.push(x(pt.t) + ',' + y(points[i - 1].p));
      coords.push(x(pt.t) + ',' + y(pt.p));
    });
    if (opts.live && last) coords.push(x(end) + ',' + y(opts.liveValue || last.p));
    root.appendChild(svg('polyline', { 'class': 'line', points: coords.join(' ') }));
    points.forEach(function (pt) {
      root.appendChild(svg('circle', { 'class': 'point', cx: x(pt.t), cy: y(pt.p), r: 3 }));
    });
    return root;
  }

  function eventTable(log) {
    return table('event-log', ['Time', 'Event', 'By', 'Description', 'Extension calls'], log.map(function (e) {
      var calls = (e.ActionInvocations || []).map(function (inv) {
        var failed = !!(inv.ErrorCode || inv.ErrorMessage);
        return el('span', { 'class': 'invocation' + (failed ? ' error' : ''), title: inv.Uri || '' },
          inv.ExtensionIdentifier + ' ' + inv.ActionName + (failed ? ': ' + (inv.ErrorCode || '') + ' ' + (inv.ErrorMessage || '') : ' ✓'));
      });
      return el('tr', { 'class': 'event' + (calls.some(function (c) { return c.classList.contains('error'); }) ? ' error' : ''), 'data-type': e.EventType },
        el('td', { text: when(e.OccurredAt) }),
        el('td', { text: e.EventType }),
        el('td', { text: e.TriggeredBy }),
        el('td', { text: e.Description || '' }),
        el('td', null, calls));
    }), 'No events.');
  }

  // ---- account-wide lists ----------------------------------------------------------------

  function viewStrategies() {
    highlightNav('strategies');
    return listAll('/deploymentstrategies').then(function (items) {
      setView('Deployment strategies');
      view.appendChild(table('strategies', ['Name', 'Id', 'Duration (min)', 'Growth', 'Final bake (min)', 'Replicate to', 'Description'], items.map(function (s) {
        return el('tr', { 'data-id': s.Id },
          el('td', { text: s.Name }), el('td', null, el('code', { text: s.Id })),
          el('td', { text: String(s.DeploymentDurationInMinutes) }),
          el('td', { text: s.GrowthType + ' ' + s.GrowthFactor + '%' }),
          el('td', { text: String(s.FinalBakeTimeInMinutes) }),
          el('td', { text: s.ReplicateTo || '' }),
          el('td', { text: s.Description || '' }));
      })));
    });
  }

  function viewExtensions() {
    highlightNav('extensions');
    return listAll('/extensions').then(function (items) {
      setView('Extensions');
      view.appendChild(table('extensions', ['Name', 'Version', 'Id', 'Description'], items.map(function (x) {
        return el('tr', { 'data-id': x.Id },
          el('td', null, el('a', { href: '#/extensions/' + encodeURIComponent(x.Id) + '/' + x.VersionNumber, text: x.Name })),
          el('td', { text: String(x.VersionNumber) }),
          el('td', null, el('code', { text: x.Id })),
          el('td', { text: x.Description || '' }));
      })));
    });
  }

  function viewExtension(id, version) {
    highlightNav('extensions');
    return api('GET', path('extensions', id), { query: { version_number: version } }).then(function (x) {
      setView(x.Name + ' (version ' + x.VersionNumber + ')', crumbLinks([['Extensions', '#/extensions'], [x.Name]]));
      view.appendChild(el('p', { 'class': 'muted', text: x.Description || '' }));
      view.appendChild(el('p', null, el('code', { text: x.Arn })));
      view.appendChild(el('h2', { text: 'Actions' }));
      var rows = [];
      Object.keys(x.Actions || {}).forEach(function (point) {
        x.Actions[point].forEach(function (a) {
          rows.push(el('tr', null, el('td', { text: point }), el('td', { text: a.Name }), el('td', null, el('code', { text: a.Uri })), el('td', { text: a.Description || '' })));
        });
      });
      view.appendChild(table('extension-actions', ['Action point', 'Name', 'Uri', 'Description'], rows));
      view.appendChild(el('h2', { text: 'Parameters' }));
      view.appendChild(table('extension-parameters', ['Name', 'Required', 'Dynamic', 'Description'], Object.keys(x.Parameters || {}).map(function (k) {
        var p = x.Parameters[k];
        return el('tr', null, el('td', { text: k }), el('td', { text: p.Required ? 'yes' : 'no' }), el('td', { text: p.Dynamic ? 'yes' : 'no' }), el('td', { text: p.Description || '' }));
      })));
    });
  }

  function viewAssociations() {
    highlightNav('associations');
    return listAll('/extensionassociations').then(function (items) {
      return Promise.all(items.map(function (a) { return api('GET', path('extensionassociations', a.Id)); }));
    }).then(function (items) {
      setView('Extension associations');
      view.appendChild(table('associations', ['Id', 'Extension', 'Version', 'Resource', 'Parameters'], items.map(function (a) {
        return el('tr', { 'data-id': a.Id },
          el('td', null, el('code', { text: a.Id })),
          el('td', null, el('code', { text: a.ExtensionArn })),
          el('td', { text: String(a.ExtensionVersionNumber) }),
          el('td', null, resourceLink(a.ResourceArn)),
          el('td', null, el('code', { text: JSON.stringify(a.Parameters || {}) })));
      })));
    });
  }

  // An application/environment/profile ARN as a link into the console.
  function resourceLink(arn) {
    var m = /:application\/([^/]+)(?:\/(environment|configurationprofile)\/([^/]+))?$/.exec(arn || '');
    if (!m) return el('code', { text: arn });
    var href = '#/apps/' + m[1] + (m[2] === 'environment' ? '/envs/' + m[3] : m[2] ? '/profiles/' + m[3] : '');
    return el('a', { href: href }, el('code', { text: arn }));
  }

  function viewSettings() {
    highlightNav('settings');
    var s = settings();
    setView('Settings');
    view.appendChild(el('p', { 'class': 'muted', text:
      'Requests are signed with AWS Signature Version 4 when an access key is set (needed when the server runs with --credentials). ' +
      'Keys stay in this tab\'s session storage and are sent nowhere but in signatures.' }));
    var inputs = {};
    var form = el('form', { 'class': 'settings', id: 'settings-form', onsubmit: function (ev) {
      ev.preventDefault();
      var next = {};
      KEYS.forEach(function (k) { next[k] = inputs[k].value.trim(); });
      saveSettings(next);
      saved.textContent = 'Saved.';
    } });
    [['accessKeyId', 'Access key id', 'text'], ['secretAccessKey', 'Secret access key', 'password'],
     ['sessionToken', 'Session token (optional)', 'password'], ['region', 'Region', 'text']].forEach(function (f) {
      inputs[f[0]] = el('input', { id: 'setting-' + f[0], name: f[0], type: f[2], value: s[f[0]], autocomplete: 'off' });
      form.appendChild(el('label', { 'for': 'setting-' + f[0], text: f[1] }));
      form.appendChild(inputs[f[0]]);
    });
    var saved = el('span', { 'class': 'muted' });
    form.appendChild(el('span'));
    form.appendChild(el('div', { 'class': 'actions' },
      el('button', { type: 'submit', 'class': 'primary', id: 'settings-save' }, 'Save'),
      el('button', { type: 'button', onclick: function () {
        saveSettings({ region: inputs.region.value.trim() });
        KEYS.forEach(function (k) { if (k !== 'region') inputs[k].value = ''; });
        saved.textContent = 'Keys cleared: requests are unsigned.';
      } }, 'Clear keys'), saved));
    view.appendChild(form);
    return Promise.resolve();
  }

  // ---- routing ----------------------------------------------------------------------------

  function route() {
    generation++;
    showError(null);
    var parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    var done;
    if (!parts.length) done = viewApplications();
    else if (parts[0] === 'apps' && parts.length === 2) done = viewApplication(parts[1]);
    else if (parts[0] === 'apps' && parts[2] === 'envs' && parts.length === 4) done = viewEnvironment(parts[1], parts[3], null);
    else if (parts[0] === 'apps' && parts[2] === 'envs' && parts[4] === 'deployments') done = viewEnvironment(parts[1], parts[3], Number(parts[5]));
    else if (parts[0] === 'apps' && parts[2] === 'profiles') done = viewProfile(parts[1], parts[3]);
    else if (parts[0] === 'apps' && parts[2] === 'experiments' && parts[4] === 'runs') done = experiments.viewRun(parts[1], parts[3], Number(parts[5]));
    else if (parts[0] === 'apps' && parts[2] === 'experiments') done = experiments.viewDefinition(parts[1], parts[3]);
    else if (parts[0] === 'strategies') done = viewStrategies();
    else if (parts[0] === 'extensions' && parts.length >= 2) done = viewExtension(parts[1], parts[2]);
    else if (parts[0] === 'extensions') done = viewExtensions();
    else if (parts[0] === 'associations') done = viewAssociations();
    else if (parts[0] === 'settings') done = viewSettings();
    else done = Promise.reject(new Error('No such page: ' + location.hash));
    done.catch(function (e) {
      showError(e);
      if (view.textContent === 'Loading…') view.textContent = '';
    });
  }

  // Experiments live in experiments.js (loaded first); it gets the helpers it shares with us.
  var experiments = window.ConsoleExperiments({
    api: api, path: path, listAll: listAll, el: el, append: append, table: table,
    stateBadge: stateBadge, when: when, toDate: toDate, pct: pct, setView: setView,
    crumbLinks: crumbLinks, highlightNav: highlightNav, showError: showError, stepChart: stepChart,
    view: view, ApiError: ApiError, generation: function () { return generation; }
  });

  window.addEventListener('hashchange', route);
  showSigningStatus();
  route();
})();
