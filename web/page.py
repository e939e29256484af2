"""The page's own CSS and script: a readable table, the phone layout, URL state.

``HEAD`` defines ``hpsSetParams`` (merge values into the URL query with
``history.replaceState``: every view can be shared by its address) and opens the filters on
wide screens (on a phone they stay folded behind one control).
"""

from __future__ import annotations

PHONE_MAX_PX = 640

CSS = """
:root { --hps-muted: #6b7280; --hps-line: #e5e7eb; --hps-verified: #047857; }
.hps-intro p { margin: 0 0 .25rem 0; }
.hps-count { color: var(--hps-muted); margin: .25rem 0; font-size: .9rem; }
.hps-wrap { width: 100%; }
.hps-scroll { overflow-x: auto; }
table.hps-table { width: 100%; border-collapse: separate; border-spacing: 0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: .95rem; }
table.hps-table th, table.hps-table td { padding: .45rem .6rem; vertical-align: top;
  border-bottom: 1px solid var(--hps-line); text-align: left; }
table.hps-table thead th { position: sticky; top: 0; z-index: 2; white-space: nowrap;
  background: var(--background-fill-primary, #fff); border-bottom: 2px solid #9ca3af; }
table.hps-table .hps-num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
table.hps-table th.hps-num button { text-align: right; }
table.hps-table caption { text-align: left; font-weight: 600; padding: .4rem 0; }
button.hps-sort { all: unset; cursor: pointer; font-weight: 600; white-space: nowrap; }
button.hps-sort:hover, button.hps-sort:focus-visible { text-decoration: underline; }
th[aria-sort] button.hps-sort { color: var(--color-accent, #ea580c); }
tr.hps-row-verified td { background: rgba(4, 120, 87, .05); }
.hps-rank { font-weight: 700; display: block; }
.hps-ci { display: block; font-size: .78rem; color: var(--hps-muted); white-space: nowrap; }
.hps-tie { color: #b45309; font-weight: 600; }
.hps-muted { color: var(--hps-muted); }
td.hps-col-date, td.hps-col-images { white-space: nowrap; }
a.hps-model { font-weight: 600; text-decoration: none; padding: 0; margin: 0; }
a.hps-model:hover { text-decoration: underline; }
.hps-badge { display: inline-block; font-size: .72rem; padding: 0 .35rem; white-space: nowrap;
  margin: .1rem .15rem 0 0; border-radius: .6rem; border: 1px solid var(--hps-line);
  color: var(--hps-muted); }
.hps-badge.hps-verified { color: var(--hps-verified); border-color: var(--hps-verified); }
.hps-badge.hps-custom { color: #b45309; border-color: #b45309; }
.hps-empty { text-align: center !important; padding: 2rem !important; color: var(--hps-muted); }
.hps-empty-state { border: 1px dashed #cbd5e1; border-radius: .5rem; padding: 1rem 1.25rem;
  color: #374151; }
.hps-empty-state h3 { margin-top: 0; }
.hps-error { color: #b91c1c; background: #fef2f2; border: 1px solid #fecaca;
  border-radius: .4rem; padding: .5rem .75rem; margin: .25rem 0; }
.hps-details { white-space: pre-wrap; font-size: .85rem; color: #374151; }
.hps-two { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.hps-summary { font-size: 1.05rem; }
.hps-pair-scores { font-size: 1.1rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.hps-small td:first-child { white-space: nowrap; }
.hps-small .hps-long { min-width: 12rem; }
.hps-model-head h2 { margin: .25rem 0; }
#leaderboard-table { overflow: visible !important; }
#leaderboard-table table.hps-table, #leaderboard-table table.hps-table th,
#leaderboard-table table.hps-table td, .hps-small, .hps-small th, .hps-small td {
  border-left: none !important; border-right: none !important; border-top: none !important; }
table.hps-table { border: none !important; }
.hps-wrap { border: none !important; }
@media (max-width: PHONE_MAX_PXpx) {
  .hps-wide { display: none; }
  .hps-lb-intro { display: none; }
  #lb-filter-row { flex-direction: column !important; }
  table.hps-small { font-size: .85rem; }
  table.hps-table { font-size: .9rem; }
  table.hps-table th, table.hps-table td { padding: .4rem .35rem; }
  .hps-two { grid-template-columns: 1fr; }
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  .tab-wrapper, [role=tablist] { overflow-x: auto; flex-wrap: nowrap; }
}
""".replace("PHONE_MAX_PX", str(PHONE_MAX_PX))

HEAD = """
<script>
window.hpsSetParams = function (values) {
  const params = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(values)) {
    const empty = value === null || value === undefined || value === '' || value === false;
    if (empty) params.delete(key);
    else params.set(key, value === true ? '1' : String(value));
  }
  const query = params.toString();
  history.replaceState(null, '', query ? '?' + query : window.location.pathname);
};
(function openFiltersOnWideScreens() {
  if (window.innerWidth <= PHONE_MAX_PX) return;
  let tries = 0;
  const timer = setInterval(() => {
    const label = document.querySelector('#lb-filters .label-wrap');
    if (label || ++tries > 100) clearInterval(timer);
    if (label && !label.classList.contains('open')) label.click();
  }, 50);
})();
</script>
""".replace("PHONE_MAX_PX", str(PHONE_MAX_PX))
