// GOV.UK's page template does this inline; our Content-Security-Policy forbids inline script,
// so it lives here and is loaded first inside <body>. Without it no GOV.UK or MoJ component runs.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
