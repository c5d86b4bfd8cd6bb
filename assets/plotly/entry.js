// The plotly.js the app's views draw with (ui/plot_view.js): plotly.js's core (which holds `scatter`) and only
// the trace types normviz's figures use. tests/browser/test_plotly_bundle.py fails when a figure builder uses
// a type not registered here, or when this bundle's version differs from the python plotly package's.
// Rebuild with ./build.sh after changing this list or upgrading plotly.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/scattergl'),
    require('plotly.js/lib/scatter3d'),
    require('plotly.js/lib/mesh3d'),
    require('plotly.js/lib/cone'),
]);

module.exports = Plotly;
