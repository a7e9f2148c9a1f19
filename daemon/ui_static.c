/* ui_static.c: the dashboard's one script and one style sheet, served
 * from /ui/static/ (the Content-Security-Policy allows no other script
 * and no inline one). Plain JavaScript, no framework: it refreshes the
 * overview's queue figures and turns the dead letters' retry and drop
 * forms into API calls that take the row away; without it the forms
 * still work (POST, then back to the list). */

const char ui_static_js[] =
        "'use strict';\n"
        "(function () {\n"
        "  var meta = document.querySelector('meta[name=\"csrf-token\"]');\n"
        "  var csrf = meta ? meta.getAttribute('content') : '';\n"
        "  function refreshQueue() {\n"
        "    fetch('/api/v1/queue', { credentials: 'same-origin' })\n"
        "      .then(function (r) { return r.ok ? r.json() : null; })\n"
        "      .then(function (q) {\n"
        "        if (!q) return;\n"
        "        document.querySelectorAll('[data-queue]').forEach(function (el) {\n"
        "          var v = q[el.getAttribute('data-queue')];\n"
        "          if (v !== undefined) el.textContent = String(v);\n"
        "        });\n"
        "      }).catch(function () {});\n"
        "  }\n"
        "  if (document.querySelector('[data-queue]')) setInterval(refreshQueue, 15000);\n"
        "  document.querySelectorAll('form[data-api]').forEach(function (form) {\n"
        "    form.addEventListener('submit', function (ev) {\n"
        "      ev.preventDefault();\n"
        "      var row = form.closest('tr');\n"
        "      fetch(form.getAttribute('data-api'), {\n"
        "        method: 'POST', credentials: 'same-origin',\n"
        "        headers: { 'X-CSRF-Token': csrf }\n"
        "      }).then(function (r) {\n"
        "        var note = document.getElementById('notice');\n"
        "        if (r.ok || r.status === 404) {\n"
        "          if (row) row.remove();\n"
        "          if (note) note.textContent = form.getAttribute('data-done') || '';\n"
        "        } else if (note) {\n"
        "          note.textContent = 'HTTP ' + r.status;\n"
        "        }\n"
        "      });\n"
        "    });\n"
        "  });\n"
        "})();\n";

const char ui_static_css[] =
        "body{font-family:system-ui,sans-serif;margin:0;color:#1a202c;background:#f7fafc}\n"
        "nav{background:#1a365d;color:#fff;padding:.6em 1em;display:flex;gap:1em;"
        "align-items:center;flex-wrap:wrap}\n"
        "nav a{color:#fff}nav a.active{font-weight:bold;text-decoration:none}\n"
        "nav form{display:inline;margin:0}\n"
        "main{padding:1em 1.5em;max-width:1100px}\n"
        ".figures{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}\n"
        ".figure{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:.6em 1em;"
        "min-width:9em}\n"
        ".figure .v{font-size:1.5em;font-weight:bold;display:block}\n"
        ".figure .k{font-size:.85em;color:#4a5568}\n"
        "table{border-collapse:collapse;background:#fff;margin:.5em 0 1.5em}\n"
        "th,td{border:1px solid #e2e8f0;padding:.3em .6em;text-align:left;font-size:.9em}\n"
        "td.n{text-align:right}\n"
        ".chart{width:100%;max-width:760px;background:#fff;border:1px solid #e2e8f0}\n"
        "#notice{color:#276749;font-weight:bold}\n"
        ".cut{background:#fffbea;border-left:4px solid #d69e2e;padding:.4em 1em}\n"
        ".why{background:#fff;border-left:4px solid #2b6cb0;padding:.5em 1em}\n";
