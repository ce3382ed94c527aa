// The console's experiment pages: an application's experiment definitions, one definition
// (control, treatments, audience rule, runs) and one run (status, exposure over time, overrides,
// events, treatments served, and the Raise exposure / Stop run buttons).
//
// Loaded before console.js, which calls window.ConsoleExperiments with the helpers both share
// (API calls, DOM building, the error banner, the step chart) and routes to the views returned.
// Treatments-served counts come from the server's /metrics (Prometheus text) when the account
// has VendedMetrics on; the run page polls while the run is RUNNING.
(function () {
  'use strict';

  var RUN_POLL_MS = 2000;
  var DONE_POLL_MS = 5000;
  var SERIES = 'appconfig_experiment_treatments_served_total';

  window.ConsoleExperiments = function (ui) {
    var el = ui.el, table = ui.table, when = ui.when, path = ui.path, api = ui.api;

    function describe(e) {
      return e instanceof ui.ApiError ? e.type + ': ' + e.message : String(e);
    }

    function defPath(appId, defId) {
      return path('applications', appId, 'experimentdefinitions', defId);
    }

    function runPath(appId, defId, run) {
      return path('applications', appId, 'experimentdefinitions', defId, 'experimentruns', run);
    }

    // A treatment key's variant name on the read path: c -> __c__, t1 -> __t1__.
    function variantOf(key) {
      return '__' + key + '__';
    }

    // Control first, then the treatments in order (keys c, t1, t2, ...).
    function allTreatments(def) {
      return (def.Control ? [def.Control] : []).concat(def.Treatments || []);
    }

    function number(v) {
      return Math.round(v * 1000) / 1000;
    }

    function attributeText(v) {
      if (!v) return '';
      if (v.StringValue !== undefined) return JSON.stringify(v.StringValue);
      if (v.NumberValue !== undefined) return String(v.NumberValue);
      if (v.BooleanValue !== undefined) return String(v.BooleanValue);
      if (v.StringArray !== undefined) return JSON.stringify(v.StringArray);
      if (v.NumberArray !== undefined) return JSON.stringify(v.NumberArray);
      return JSON.stringify(v);
    }

    function flagValueCell(fv) {
      fv = fv || {};
      var attrs = fv.AttributeValues || {};
      return el('td', null,
        el('strong', { text: fv.Enabled ? 'enabled' : 'disabled' }),
        Object.keys(attrs).sort().map(function (k) {
          return [' ', el('code', { text: k + '=' + attributeText(attrs[k]) })];
        }));
    }

    // Rows for the control and treatments. served: null (no column) or {variant: count|null}.
    function treatmentTable(id, def, served) {
      var list = allTreatments(def);
      var total = list.reduce(function (s, t) { return s + (Number(t.Weight) || 0); }, 0);
      var servedTotal = 0;
      if (served) list.forEach(function (t) { servedTotal += served[variantOf(t.Key)] || 0; });
      var headings = ['Key', 'Variant', 'Weight', 'Share', 'Flag value', 'Description'];
      if (served) headings.push('Served');
      return table(id, headings, list.map(function (t) {
        var share = total > 0 ? (Number(t.Weight) || 0) / total * 100 : 0;
        var row = el('tr', { 'data-key': t.Key, 'data-variant': variantOf(t.Key) },
          el('td', null, el('code', { text: t.Key }), t.Key === 'c' ? el('span', { 'class': 'muted', text: ' control' }) : null),
          el('td', null, el('code', { text: variantOf(t.Key) })),
          el('td', { text: String(number(t.Weight || 0)) }),
          el('td', { text: ui.pct(share) }),
          flagValueCell(t.FlagValue),
          el('td', { text: t.Description || '' }));
        if (served) {
          var n = served[variantOf(t.Key)];
          var text = n === null || n === undefined ? '–'
            : n + (servedTotal ? ' (' + ui.pct(n / servedTotal * 100) + ')' : '');
          row.appendChild(el('td', { 'class': 'served', 'data-count': n === null || n === undefined ? '' : n, text: text }));
        }
        return row;
      }), 'No treatments.');
    }

    function factList(id, pairs) {
      var dl = el('dl', { id: id, 'class': 'kv card' });
      pairs.forEach(function (kv) {
        if (kv[1] === undefined || kv[1] === null || kv[1] === '') return;
        dl.appendChild(el('dt', { text: kv[0] }));
        dl.appendChild(el('dd', null, kv[1]));
      });
      return dl;
    }

    // A GET that may fail without failing the page (names of linked resources).
    function optional(promise) {
      return promise.catch(function () { return null; });
    }

    function nameOf(resource, id) {
      return resource && resource.Name ? resource.Name + ' (' + id + ')' : id;
    }

    // ---- the application page's section --------------------------------------------------

    function section(appId, envs, profiles) {
      var envName = {}, profileName = {};
      envs.forEach(function (e) { envName[e.Id] = e.Name; });
      profiles.forEach(function (p) { profileName[p.Id] = p.Name; });
      var view = ui.view;
      view.appendChild(el('h2', { text: 'Experiments' }));
      var box = el('div');
      view.appendChild(box);
      return ui.listAll('/experimentdefinitions', { application_identifier: appId }).then(function (defs) {
        box.appendChild(table('experiments', ['Name', 'Id', 'Status', 'Flag', 'Environment', 'Profile', 'Updated'], defs.map(function (d) {
          return el('tr', { 'data-id': d.Id },
            el('td', null, el('a', { href: '#/apps/' + appId + '/experiments/' + d.Id, text: d.Name })),
            el('td', null, el('code', { text: d.Id })),
            el('td', null, ui.stateBadge(d.Status)),
            el('td', null, el('code', { text: d.FlagKey })),
            el('td', null, el('a', { href: '#/apps/' + appId + '/envs/' + d.EnvironmentId, text: envName[d.EnvironmentId] || d.EnvironmentId })),
            el('td', null, el('a', { href: '#/apps/' + appId + '/profiles/' + d.ConfigurationProfileId, text: profileName[d.ConfigurationProfileId] || d.ConfigurationProfileId })),
            el('td', { text: when(d.UpdatedAt) }));
        }), 'No experiment definitions.'));
      }).catch(function (e) {
        // The rest of the application page stays usable.
        box.appendChild(el('p', { id: 'experiments', 'class': 'muted', text: 'Experiments could not be listed: ' + describe(e) }));
      });
    }

    // ---- a definition ---------------------------------------------------------------------

    function viewDefinition(appId, defId) {
      ui.highlightNav('apps');
      return Promise.all([
        api('GET', path('applications', appId)),
        api('GET', defPath(appId, defId)),
        ui.listAll(path('applications', appId, 'experimentdefinitions', defId, 'experimentruns'))
      ]).then(function (r) {
        var def = r[1];
        return Promise.all([
          optional(api('GET', path('applications', appId, 'environments', def.EnvironmentId))),
          optional(api('GET', path('applications', appId, 'configurationprofiles', def.ConfigurationProfileId)))
        ]).then(function (names) { renderDefinition(appId, r[0], def, r[2], names[0], names[1]); });
      });
    }

    function renderDefinition(appId, app, def, runs, env, profile) {
      var view = ui.setView(def.Name, ui.crumbLinks([['Applications', '#/'], [app.Name, '#/apps/' + appId], ['Experiment ' + def.Name]]));
      view.appendChild(el('p', null, 'Status: ', ui.stateBadge(def.Status, 'definition-status')));
      view.appendChild(factList('definition-facts', [
        ['Id', el('code', { text: def.Id })],
        ['Flag', el('code', { text: def.FlagKey })],
        ['Environment', el('a', { href: '#/apps/' + appId + '/envs/' + def.EnvironmentId, text: nameOf(env, def.EnvironmentId) })],
        ['Profile', el('a', { href: '#/apps/' + appId + '/profiles/' + def.ConfigurationProfileId, text: nameOf(profile, def.ConfigurationProfileId) })],
        ['Hypothesis', def.Hypothesis],
        ['Audience', def.AudienceDescription],
        ['Launch criteria', def.LaunchCriteria],
        ['Created', when(def.CreatedAt)],
        ['Updated', when(def.UpdatedAt)]
      ]));
      view.appendChild(el('h2', { text: 'Audience rule' }));
      view.appendChild(el('pre', { id: 'audience-rule', text: def.AudienceRule || '' }));
      view.appendChild(el('h2', { text: 'Control and treatments' }));
      view.appendChild(treatmentTable('treatments', def, null));
      view.appendChild(el('h2', { text: 'Runs' }));
      var newestFirst = runs.slice().sort(function (a, b) { return b.Run - a.Run; });
      view.appendChild(table('runs', ['Run', 'Status', 'Description', 'Started', 'Updated', 'Ended'], newestFirst.map(function (run) {
        return el('tr', { 'data-run': run.Run },
          el('td', null, el('a', { href: '#/apps/' + appId + '/experiments/' + def.Id + '/runs/' + run.Run, text: '#' + run.Run })),
          el('td', null, ui.stateBadge(run.Status)),
          el('td', { text: run.Description || '' }),
          el('td', { text: when(run.StartedAt) }),
          el('td', { text: when(run.UpdatedAt) }),
          el('td', { text: when(run.EndedAt) }));
      }), 'No runs yet.'));
    }

    // ---- treatments served (vended metrics) ------------------------------------------------

    // Prometheus/OpenMetrics text -> [{name, labels, value}] (comments and EOF skipped).
    function parseMetrics(text) {
      var out = [];
      text.split('\n').forEach(function (line) {
        if (!line || line.charAt(0) === '#') return;
        var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
        if (!m) return;
        var labels = {};
        var re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g, l;
        while ((l = re.exec(m[2] || '')) !== null) {
          labels[l[1]] = l[2].replace(/\\(.)/g, function (_, c) { return c === 'n' ? '\n' : c; });
        }
        out.push({ name: m[1], labels: labels, value: Number(m[3]) });
      });
      return out;
    }

    // {state: 'off'|'unavailable'|'ok', counts: {variant: n}, note}. The series counts one
    // (application, environment, profile, flag, variant) since the server started, so it spans
    // every run of the flag unless the series carries a run label.
    function treatmentsServed(snapshot, run) {
      return api('GET', '/settings').then(function (s) {
        return !(s.VendedMetrics && s.VendedMetrics.Enabled);
      }, function () { return false; }).then(function (off) {
        if (off) return { state: 'off', note: 'Vended metrics are off: turn VendedMetrics on in the account settings to count treatments served.' };
        return fetch('/metrics').then(function (resp) {
          if (resp.status === 401 || resp.status === 403) {
            return { state: 'unavailable', note: 'Treatment counts are unavailable: /metrics needs the server\'s metrics bearer token.' };
          }
          if (!resp.ok) return { state: 'unavailable', note: 'Treatment counts are unavailable: /metrics answered HTTP ' + resp.status + '.' };
          return resp.text().then(function (text) {
            var counts = {}, perRun = false;
            allTreatments(snapshot).forEach(function (t) { counts[variantOf(t.Key)] = 0; });
            parseMetrics(text).forEach(function (s) {
              var l = s.labels;
              if (s.name !== SERIES || l.application !== snapshot.ApplicationId || l.environment !== snapshot.EnvironmentId ||
                  l.configuration_profile !== snapshot.ConfigurationProfileId || l.flag !== snapshot.FlagKey) return;
              if (l.run !== undefined) {
                perRun = true;
                if (Number(l.run) !== run) return;
              }
              if (counts[l.variant] !== undefined) counts[l.variant] += s.value;
            });
            return { state: 'ok', counts: counts, note: perRun
              ? 'Treatments served in this run (vended metrics, from /metrics).'
              : 'Treatments served by this server since it started, for this flag in this environment (every run of it; vended metrics, from /metrics).' };
          });
        }, function (e) { return { state: 'unavailable', note: 'Treatment counts are unavailable: ' + String(e) }; });
      });
    }

    // ---- a run ------------------------------------------------------------------------------

    function exposurePoints(events) {
      return events.slice().reverse().filter(function (e) {
        return typeof e.ExposurePercentage === 'number' && ui.toDate(e.OccurredAt);
      }).map(function (e) {
        return { t: ui.toDate(e.OccurredAt).getTime(), p: e.ExposurePercentage };
      });
    }

    // Newest first, whatever order the server sends (a stable sort keeps its order on ties).
    function newestFirst(events) {
      return events.slice().sort(function (a, b) {
        return (ui.toDate(b.OccurredAt) || 0) - (ui.toDate(a.OccurredAt) || 0);
      });
    }

    function overridesText(o) {
      var inline = (o && o.Inline) || {};
      return Object.keys(inline).sort().map(function (k) { return k + '→' + inline[k]; }).join(', ');
    }

    function viewRun(appId, defId, runNo) {
      ui.highlightNav('apps');
      var gen = ui.generation();
      return Promise.all([
        api('GET', path('applications', appId)),
        api('GET', defPath(appId, defId)),
        api('GET', runPath(appId, defId, runNo))
      ]).then(function (r) {
        var page = runPage(appId, r[0], r[1], runNo);
        var busy = false, again = false, timer = null, done = false;
        // One refresh at a time; a click during one asks for another right after.
        function refresh() {
          if (gen !== ui.generation()) return;
          if (busy) { again = true; return; }
          busy = true;
          clearTimeout(timer);
          Promise.all([
            api('GET', runPath(appId, defId, runNo)),
            ui.listAll(runPath(appId, defId, runNo) + '/events')
          ]).then(function (x) {
            done = x[0].Status !== 'RUNNING';
            if (gen !== ui.generation()) return null;
            page.update(x[0], newestFirst(x[1]));
            return treatmentsServed(x[0].ExperimentDefinitionSnapshot || r[1], runNo).then(function (served) {
              if (gen === ui.generation()) page.served(x[0], served);
            });
          }).catch(ui.showError).then(function () {
            busy = false;
            if (gen !== ui.generation()) return;
            if (again) { again = false; refresh(); return; }
            timer = setTimeout(refresh, done ? DONE_POLL_MS : RUN_POLL_MS);
          });
        }
        page.onChange(refresh);
        refresh();
      });
    }

    // The run page, built once; update() fills it from each poll, so the inputs keep what
    // the user typed.
    function runPage(appId, app, def, runNo) {
      var view = ui.setView(def.Name + ': run #' + runNo, ui.crumbLinks([
        ['Applications', '#/'], [app.Name, '#/apps/' + appId],
        ['Experiment ' + def.Name, '#/apps/' + appId + '/experiments/' + def.Id], ['Run #' + runNo]]));
      var status = el('span');
      var exposure = el('strong', { id: 'run-exposure' });
      var ended = el('span', { 'class': 'muted' });
      var bar = el('div');
      var facts = el('div');
      var result = el('div');
      var overrides = el('div');
      var treatments = el('div');
      var note = el('p', { id: 'served-note', 'class': 'muted' });
      var chart = el('div', { id: 'exposure' });
      var events = el('div');
      var current = 0;
      var changed = function () {};

      var input = el('input', { id: 'exposure-input', type: 'number', min: 0, max: 100, step: 'any', placeholder: 'new %', style: 'width: 90px' });
      var raise = el('button', { id: 'raise-exposure', 'class': 'primary', onclick: function () {
        var v = Number(input.value);
        // Only the rule the page knows for sure; the range (0-100) is the server's to enforce.
        if (input.value.trim() === '' || !isFinite(v) || v <= current) {
          ui.showError(new Error('Exposure must be a number higher than the current ' + ui.pct(current) + '.'));
          return;
        }
        send('update', { ExposurePercentage: v }, raise, function () { input.value = ''; });
      } }, 'Raise exposure');
      var summary = el('input', { id: 'stop-summary', type: 'text', placeholder: 'Executive summary (optional)', style: 'width: 280px' });
      var stop = el('button', { id: 'stop-run', 'class': 'danger', onclick: function () {
        if (!confirm('Stop run #' + runNo + '? Clients go back to the flag as deployed.')) return;
        var text = summary.value.trim();
        send('stop', text ? { Result: { ExecutiveSummary: text } } : {}, stop, function () { summary.value = ''; });
      } }, 'Stop run');
      var actions = el('div', { id: 'run-actions', 'class': 'actions', hidden: true }, input, raise, ' ', summary, stop);

      function send(what, body, button, after) {
        button.disabled = true;
        api('PATCH', runPath(appId, def.Id, runNo) + '/' + what, { body: body })
          .then(function () { ui.showError(null); after(); })
          .catch(ui.showError)
          .then(function () { button.disabled = false; changed(); });
      }

      ui.append(view, [
        el('p', null, status, ' exposure ', exposure, ended),
        el('div', { 'class': 'progress' }, bar),
        actions,
        el('div', { 'class': 'grid' }, facts, chart),
        result,
        el('h2', { text: 'Treatment overrides' }), overrides,
        el('h2', { text: 'Control and treatments (this run\'s snapshot)' }), treatments, note,
        el('h2', { text: 'Events' }), events
      ]);

      return {
        onChange: function (f) { changed = f; },
        update: function (run, log) {
          current = Number(run.ExposurePercentage) || 0;
          var running = run.Status === 'RUNNING';
          status.textContent = '';
          status.appendChild(ui.stateBadge(run.Status, 'run-status'));
          exposure.textContent = ui.pct(current);
          ended.textContent = running ? '' : ' (when it stopped: nobody is exposed now)';
          bar.style.width = Math.max(0, Math.min(100, current)) + '%';
          actions.hidden = !running;
          input.min = String(current);
          facts.textContent = '';
          facts.appendChild(factList('run-facts', [
            ['Run', '#' + run.Run],
            ['Description', run.Description],
            ['Flag', el('code', { text: (run.ExperimentDefinitionSnapshot || def).FlagKey })],
            ['Audience rule', el('code', { text: (run.ExperimentDefinitionSnapshot || def).AudienceRule })],
            ['Started', when(run.StartedAt)],
            ['Updated', when(run.UpdatedAt)],
            ['Ended', when(run.EndedAt)]
          ]));
          result.textContent = '';
          if (run.Result) {
            result.appendChild(el('h2', { text: 'Result' }));
            result.appendChild(factList('run-result', [
              ['Executive summary', run.Result.ExecutiveSummary],
              ['Reasons to launch', run.Result.ReasonsToLaunch],
              ['Reasons not to launch', run.Result.ReasonsNotToLaunch]
            ]));
          }
          var inline = (run.TreatmentOverrides && run.TreatmentOverrides.Inline) || {};
          overrides.textContent = '';
          overrides.appendChild(table('run-overrides', ['Entity id', 'Treatment'], Object.keys(inline).sort().map(function (entity) {
            return el('tr', { 'data-entity': entity },
              el('td', null, el('code', { text: entity })),
              el('td', null, el('code', { text: inline[entity] + ' (' + variantOf(inline[entity]) + ')' })));
          }), 'No overrides.'));
          chart.textContent = '';
          chart.appendChild(ui.stepChart({
            id: 'exposure-chart', label: 'ExposurePercentage over time', points: exposurePoints(log),
            live: running, liveValue: current
          }));
          events.textContent = '';
          events.appendChild(table('run-events', ['Time', 'Event', 'By', 'Exposure', 'Overrides', 'Description', 'Deployment'], log.map(function (e) {
            return el('tr', { 'class': 'event', 'data-type': e.EventType },
              el('td', { text: when(e.OccurredAt) }),
              el('td', { text: e.EventType }),
              el('td', { text: e.TriggeredBy || '' }),
              el('td', { 'class': 'exposure', text: typeof e.ExposurePercentage === 'number' ? ui.pct(e.ExposurePercentage) : '' }),
              el('td', { text: overridesText(e.TreatmentOverrides) }),
              el('td', { text: e.Description || '' }),
              el('td', null, e.AssociatedDeployment ? el('code', { text: e.AssociatedDeployment.replace(/^.*\/deployment\//, '#') , title: e.AssociatedDeployment }) : null));
          }), 'No events.'));
        },
        served: function (run, served) {
          treatments.textContent = '';
          treatments.appendChild(treatmentTable('run-treatments', run.ExperimentDefinitionSnapshot || def,
            served.state === 'ok' ? served.counts : {}));
          note.textContent = served.note;
          note.setAttribute('data-state', served.state);
        }
      };
    }

    return { section: section, viewDefinition: viewDefinition, viewRun: viewRun };
  };
})();
