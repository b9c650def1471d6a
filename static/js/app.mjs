// Start GOV.UK and MoJ components, and again inside every piece of page htmx swaps in.
import { initAll as govukInitAll } from '/static/dist/govuk-frontend.min.js';
import { initAll as mojInitAll } from '/static/dist/moj-frontend.mjs';

function init(scope) {
  govukInitAll({ scope });
  mojInitAll({ scope });
}

if (window.htmx) {
  // htmx.onLoad also fires for the initial body, so this covers the first page too.
  window.htmx.onLoad((element) => init(element));
} else {
  init(document.body);
}

// Move focus to the error summary of a swapped-in form, as GOV.UK does on a full page.
document.body.addEventListener('htmx:afterSettle', (event) => {
  const summary = event.detail.elt.querySelector('.govuk-error-summary');
  if (summary) summary.focus();
});
