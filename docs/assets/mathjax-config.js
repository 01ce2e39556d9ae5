// MathJax 2 (served from this site, not a CDN): $...$ and \(...\) inline, $$...$$ and \[...\]
// displayed, as pymdownx.arithmatex (generic) and the notebooks' markdown write them.
window.MathJax = {
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true},
  // HTML-CSS everywhere, and no hidden MathML copy beside each formula (AssistiveMML): the
  // native-MathML styles would ask for TeX web fonts, and only STIX-Web ships with
  // jupyter-server-mathjax.
  MMLorHTML: {prefer: "HTML"},
  menuSettings: {assistiveMML: false},
  "HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web",
               imageFont: null},
  showMathMenu: false,
  messageStyle: "none"
};
