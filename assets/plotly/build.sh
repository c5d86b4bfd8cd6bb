#!/usr/bin/env bash
# Build plotly-normviz.min.js (and its .gz): plotly.js with only the trace types in entry.js (2.1 MB, not 4.8 MB).
#
# The plotly.js version is the one the installed python plotly package bundles (the same version that builds
# the figure JSON). Needs node ≥ 18 and npm; the build runs in a temporary folder and writes only the bundle.
# Settings follow plotly.js's own esbuild-config.js (iife, global Plotly, regl → @plotly/regl, es2016).
#
#     assets/plotly/build.sh            # run from anywhere, with the app's python environment active
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(python -c 'import plotly.offline as o; print(o.get_plotlyjs_version())')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/entry.js" "$work/"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --silent \
    "plotly.js@$version" esbuild@0.28.2 buffer@6.0.3 stream-browserify@3.0.0
traces="$(grep -o "lib/[a-z0-9]*'" entry.js | sed "s|lib/||; s|'||" | grep -v core | paste -sd, -)"
cat > build.js <<JS
require('esbuild').build({
  entryPoints: ['entry.js'], outfile: 'plotly-normviz.min.js', bundle: true, minify: true,
  format: 'iife', globalName: 'Plotly', target: 'es2016', legalComments: 'none', logLevel: 'warning',
  alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
  define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
  loader: { '.css': 'empty' },  // maplibre's stylesheet: the map traces are not in this bundle
  banner: { js: '/* plotly.js v$version (MIT, Plotly, Inc.), normviz bundle: scatter,$traces. Built by assets/plotly/build.sh */' },
}).catch(() => process.exit(1));
JS
node build.js
cp plotly-normviz.min.js "$here/"
# the copy the browser fetches (ui/plot_view.js): served as it is, so the server compresses nothing per visit
gzip -9 -n -c plotly-normviz.min.js > "$here/plotly-normviz.min.js.gz"
ls -l "$here"/plotly-normviz.min.js*
