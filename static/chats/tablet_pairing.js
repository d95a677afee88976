// `/tablet/<machine>/#pair=<device token>` pairs like the form: a fragment is never sent to the server, so the token
// reaches no access log; it leaves the address bar at once and is posted with the form (CSRF-protected).
(() => {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("pair");
  const form = document.getElementById("pair-form");
  if (!token || !form) return;
  window.history.replaceState(null, "", window.location.pathname);
  form.elements.token.value = token;
  form.submit();
})();
