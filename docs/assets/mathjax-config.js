// MathJax 2 (served from this site, not a CDN): $...$ and \(...\) inline, $$...$$ and \[...\]
// displayed, as pymdownx.arithmatex (generic) and the notebooks' markdown write them.
window.MathJax = {
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true},
  "HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web",
               imageFont: null},
  showMathMenu: false,
  messageStyle: "none"
};
